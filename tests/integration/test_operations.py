"""Running a hierophant as an operator does: config, health, TLS, side by side, timers."""
from __future__ import annotations

import datetime
import ipaddress
import signal
import ssl
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from network_lib.client import NetworkClient
from network_lib.proto import artifact_pb2, artifact_pb2_grpc, network_pb2 as pb, network_pb2_grpc
from tests.integration.harness import WORKER_TOKEN, Hierophant, free_port, run_twistd_expecting_failure
from tests.integration.sp1data import elf, stdin, vk, vk_hash
from tests.integration.test_durability import wait_for
from tests.integration.test_security import http


def base_cfg(tmp_path, **extra):
    return {"grpc_port": free_port(), "http_port": free_port(), "data_dir": str(tmp_path / "d"),
            "worker_token": WORKER_TOKEN, **extra}


@pytest.mark.parametrize("extra,expect", [
    ({"grpc_prot": 9000}, "grpc_prot"),
    ({"scheduler": {"max_atempts": 3}}, "scheduler.max_atempts"),
    ({"grpc_port": "abc"}, "grpc_port"),
    ({"grpc_port": 70000}, "grpc_port"),
    ({"auth": {"mode": "sometimes"}}, "auth.mode"),
    ({"auth": {"mode": "allowlist", "allowlist": ["0x1234"]}}, "auth.allowlist"),
    ({"public_url": "127.0.0.1:9010"}, "public_url"),
    ({"limits": {"max_artifact_bytes": 0}}, "limits.max_artifact_bytes"),
    ({"tls": {"cert": "/nonexistent.pem", "key": "/nonexistent.key"}}, "tls.cert"),
])
def test_bad_config_stops_startup_naming_the_key(tmp_path, extra, expect):
    values = base_cfg(tmp_path)
    for k, v in extra.items():
        values[k] = v
    code, output = run_twistd_expecting_failure(tmp_path, values)
    assert code != 0
    assert "configuration error" in output and expect in output, output


def test_missing_worker_token_is_named(tmp_path):
    values = base_cfg(tmp_path)
    del values["worker_token"]
    code, output = run_twistd_expecting_failure(tmp_path, values)
    assert code != 0 and "worker_token" in output and "HIEROPHANT_WORKER_TOKEN" in output


def test_environment_overrides_the_file(tmp_path):
    h = Hierophant(tmp_path / "h")
    new_port = free_port()
    h.start(env={"HIEROPHANT_GRPC_PORT": str(new_port), "HIEROPHANT_AUTH_MODE": "verify"})
    try:
        h.grpc_port = new_port
        stub = artifact_pb2_grpc.ArtifactStoreStub(grpc.insecure_channel(h.grpc_target))
        with pytest.raises(grpc.RpcError) as e:      # verify mode: an empty signature is refused
            stub.CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=2))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        h.kill9()


def test_health_and_reflection_services(hierophant):
    channel = grpc.insecure_channel(hierophant.grpc_target)
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "network.ProverNetwork", "artifact.ArtifactStore"):
        assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == \
            health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    reply = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in reply.list_services_response.service}
    assert {"network.ProverNetwork", "artifact.ArtifactStore", "grpc.health.v1.Health"} <= names
    code, body = http("GET", f"{hierophant.http_url}/healthz")
    assert (code, body) == (200, b"OK\n")


def test_two_hierophants_side_by_side_and_one_data_dir_is_exclusive(make_hierophant, tmp_path):
    a = make_hierophant("a")
    b = make_hierophant("b")
    for h, n in ((a, 1), (b, 2)):
        with NetworkClient(h.rpc_url, unsigned=True) as c:
            c.register_program(vk_hash(n), vk(), elf())
    for h, mine, theirs in ((a, 1, 2), (b, 2, 1)):
        with NetworkClient(h.rpc_url, unsigned=True) as c:
            assert c.get_program(vk_hash(mine)) is not None and c.get_program(vk_hash(theirs)) is None
    values = base_cfg(tmp_path)
    values["data_dir"] = str(a.data_dir)
    code, output = run_twistd_expecting_failure(tmp_path / "c", values)
    assert code != 0 and "in use by another hierophant" in output


def test_sigterm_stops_cleanly(hierophant):
    # twistd re-raises the signal after a clean shutdown, so the status says "SIGTERM".
    assert hierophant.stop() in (0, -signal.SIGTERM)
    log = hierophant.log()
    assert "Received SIGTERM" in log and "Server Shut Down" in log and "Traceback" not in log


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    return cert_pem


def test_tls_on_both_ports(make_hierophant, tmp_path):
    cert_pem = _self_signed(tmp_path)
    h = make_hierophant(scheme="https", tls={"cert": str(tmp_path / "cert.pem"), "key": str(tmp_path / "key.pem")})
    creds = grpc.ssl_channel_credentials(root_certificates=cert_pem)
    channel = grpc.secure_channel(f"localhost:{h.grpc_port}", creds)
    art = artifact_pb2_grpc.ArtifactStoreStub(channel).CreateArtifact(
        artifact_pb2.CreateArtifactRequest(artifact_type=artifact_pb2.STDIN))
    assert art.artifact_presigned_url.startswith("https://")
    ctx = ssl.create_default_context(cadata=cert_pem.decode())
    req = urllib.request.Request(art.artifact_presigned_url, data=stdin(9), method="PUT")
    with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
        assert r.status == 200
    with pytest.raises(grpc.RpcError):   # plaintext is not served on a TLS port
        network_pb2_grpc.ProverNetworkStub(grpc.insecure_channel(h.grpc_target)).GetNonce(
            pb.GetNonceRequest(address=b"\0" * 20), timeout=5)


def test_requests_are_given_up_at_deadline_plus_grace(make_hierophant):
    h = make_hierophant(scheduler={"deadline_grace_secs": 1})
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(1), vk(), elf())
        late = c.request_proof(vk_hash(1), stdin(1), "core", timeout_secs=-30)
        fine = c.request_proof(vk_hash(1), stdin(2), "core", timeout_secs=3600)
        status = wait_for(lambda: (s := c.get_proof_status(late)).fulfillment_status == pb.UNFULFILLABLE and s,
                          what="the expired request to be given up")
        assert status.execution_status == pb.UNEXECUTED      # not the program's fault (§6.1)
        assert status.deadline == c.get_proof_request_details(late).deadline
        assert c.get_proof_status(fine).fulfillment_status == pb.REQUESTED
    h.restart()   # a restart reloads the verdict, and the timer for the live request
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        assert c.get_proof_status(late).fulfillment_status == pb.UNFULFILLABLE
        assert c.get_proof_status(fine).fulfillment_status == pb.REQUESTED


def test_retention_deletes_old_artifacts_requests_and_programs(make_hierophant):
    day = 86400
    h = make_hierophant(scheduler={"deadline_grace_secs": 0},
                        retention={"proof_days": 3 / day, "input_days": 3 / day, "sweep_interval_secs": 0.3})
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(1), vk(), elf())
        rid = c.request_proof(vk_hash(1), stdin(1), "core", timeout_secs=-10)   # gives up at once
        unused = c.create_artifact("STDIN")
        stdin_uri = c.get_proof_request_details(rid).stdin_uri
        files = h.data_dir / "artifacts"
        assert (files / stdin_uri).exists()

        def gone():
            try:
                c.get_proof_status(rid)
                return False
            except Exception as e:
                return "NOT_FOUND" in str(getattr(e, "code", "")) or "unknown request" in str(e)
        wait_for(gone, timeout=30, what="retention to delete the finished request")
        wait_for(lambda: c.get_program(vk_hash(1)) is None, timeout=30, what="the idle program to go")
        wait_for(lambda: not (files / stdin_uri).exists(), what="the stdin file to be deleted")
        assert http("PUT", unused.artifact_presigned_url, stdin(1))[0] == 404
        wait_for(lambda: [p.name for p in files.iterdir() if p.is_file()] == [], what="every file to go")
        # the SDK re-registers a deleted program by itself
        assert c.register_program(vk_hash(1), vk(), elf()) is True
    assert "retention: deleted" in h.log()


# -- ports that cannot be bound (issue 8): one line naming the key, the address and the
# reason, exit status 2, no traceback -------------------------------------------------------
def _hold_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, s.getsockname()[1]


@pytest.mark.parametrize("key", ["grpc_port", "http_port"])
def test_a_hierophant_port_in_use_ends_startup_with_one_line_and_status_2(tmp_path, key):
    holder, port = _hold_port()
    try:
        code, output = run_twistd_expecting_failure(tmp_path, base_cfg(tmp_path, **{key: port}))
    finally:
        holder.close()
    assert code == 2, output
    line = f"hierophant: cannot start: cannot listen on {key} 127.0.0.1:{port}: address already in use"
    assert line in output.splitlines(), output
    assert "Traceback" not in output, output


def test_a_contemplant_http_port_in_use_ends_startup_with_one_line_and_status_2(tmp_path, hierophant):
    from tests.integration.harness import Contemplant
    holder, port = _hold_port()
    try:
        c = Contemplant(tmp_path / "c", hierophant)
        c.cfg["http_port"] = port
        c.start(wait=False)
        assert c.wait_exit(30) == 2, c.log()
    finally:
        holder.close()
    log = c.log()
    assert f"contemplant: cannot start: cannot listen on http_port 0.0.0.0:{port}: address already in use" \
        in log.splitlines(), log
    assert "Traceback" not in log and hierophant.contemplants() == []
