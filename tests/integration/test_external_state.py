"""State outside the machine (README "State outside the machine"): a hierophant on PostgreSQL +
S3 moves to a new machine after `kill -9`; a PostgreSQL or a bucket that goes away makes
writes answer UNAVAILABLE / 503 meanwhile, loses nothing, and service resumes by itself.
Real servers (tests/servers.py); skipped, naming the package, when they are not installed."""
from __future__ import annotations

import time
import urllib.parse

import grpc
import pytest

from network_lib.client import NetworkClient
from network_lib.proto import artifact_pb2, artifact_pb2_grpc, network_pb2_grpc
from network_lib.proto import network_pb2 as pb
from tests.integration.sp1data import KEY0, elf, stdin, vk, vk_hash
from tests.integration.test_contemplants import wait_status
from tests.integration.test_durability import wait_for
from tests.integration.test_security import http

pytestmark = pytest.mark.parametrize("store_backend", ["pg+s3"], indirect=True)


def on(h, url: str) -> str:
    """`url` (handed out by another hierophant) pointed at `h`: same path, h's address."""
    return h.http_url + urllib.parse.urlsplit(url).path


def create_artifact(h, kind=artifact_pb2.STDIN):
    stub = artifact_pb2_grpc.ArtifactStoreStub(grpc.insecure_channel(h.grpc_target))
    return stub.CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=kind), timeout=30)


def raw_request_proof(h, stdin_uri: str) -> bytes:
    """RequestProof without the client's retries (auth mode none: the signature is not checked)."""
    body = pb.RequestProofRequestBody(nonce=0, vk_hash=vk_hash(1), version="sp1-v6.1.0", mode=1, strategy=1,
                                      stdin_uri=stdin_uri, deadline=int(time.time()) + 600)
    stub = network_pb2_grpc.ProverNetworkStub(grpc.insecure_channel(h.grpc_target))
    return stub.RequestProof(pb.RequestProofRequest(format=1, signature=b"\0" * 65, body=body), timeout=50).body.request_id


def test_a_new_machine_finds_everything_after_kill9(make_hierophant, make_contemplant):
    old = make_hierophant("old", auth={"mode": "verify"})
    with NetworkClient(old.rpc_url, KEY0, profile="6.x") as c:
        c.register_program(vk_hash(1), vk(), elf())
        done = c.request_proof(vk_hash(1), stdin(1), "core")
        worker = make_contemplant(old, delay_secs=0.2)
        proof = c.wait_proof(done)
        worker.kill9()
        queued = c.request_proof(vk_hash(1), stdin(2), "groth16", timeout_secs=3000)
        pending = c.create_artifact("STDIN")            # acknowledged, not uploaded yet
        nonce = c.get_nonce()
    old.kill9()

    new = make_hierophant("new", auth={"mode": "verify"})   # another, empty data_dir
    assert new.data_dir != old.data_dir
    with NetworkClient(new.rpc_url, KEY0, profile="6.x") as c:
        assert c.get_nonce() == nonce
        assert c.get_program(vk_hash(1)).vk == vk()
        status = c.get_proof_status(done)
        assert status.fulfillment_status == pb.FULFILLED and status.proof_uri.startswith(new.http_url)
        assert c.wait_proof(done) == proof                   # downloaded from the new machine
        assert c.get_proof_status(queued).fulfillment_status == pb.REQUESTED
        assert new.artifact_bytes(c.get_proof_request_details(queued).stdin_uri) == stdin(2)
    assert http("PUT", on(new, pending.artifact_presigned_url), stdin(3))[0] == 200
    assert new.artifact_bytes(pending.artifact_uri) == stdin(3)
    make_contemplant(new, "successor", delay_secs=0.2)
    wait_status(new, queued, pb.FULFILLED)


def test_postgresql_down_answers_unavailable_then_resumes_losing_nothing(make_hierophant, own_pg):
    h = make_hierophant(store={"url": own_pg.create_database("outage")})
    with NetworkClient(h.rpc_url, unsigned=True, profile="6.x") as c:
        c.register_program(vk_hash(1), vk(), elf())
        before = c.request_proof(vk_hash(1), stdin(1), "core", timeout_secs=3000)
        uploaded = c.create_artifact("STDIN")
    assert http("PUT", uploaded.artifact_presigned_url, stdin(2))[0] == 200

    own_pg.stop()
    with pytest.raises(grpc.RpcError) as e:
        create_artifact(h)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE and "PostgreSQL" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        raw_request_proof(h, uploaded.artifact_uri)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE and "PostgreSQL" in e.value.details()
    assert h.healthz() == 200
    with NetworkClient(h.rpc_url, unsigned=True, profile="6.x") as c:   # reads still answer
        assert c.get_proof_status(before).fulfillment_status == pb.REQUESTED

    own_pg.start()
    after = wait_for(lambda: _try(raw_request_proof, h, uploaded.artifact_uri), timeout=60,
                     what="RequestProof to succeed once PostgreSQL is back")
    h.kill9()
    h.start()
    with NetworkClient(h.rpc_url, unsigned=True, profile="6.x") as c:
        for rid in (before, after):
            assert c.get_proof_status(rid).fulfillment_status == pb.REQUESTED
        assert c.get_proof_request_details(after).stdin_uri == uploaded.artifact_uri


def _try(fn, *args):
    try:
        return fn(*args)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAVAILABLE, e
        return None


def test_unreachable_bucket_answers_503_and_leaves_nothing(make_hierophant, own_s3):
    bucket = own_s3.create_bucket("outage")
    h = make_hierophant(s3=own_s3.client(), env=own_s3.env(),
                        artifacts={"s3_endpoint": own_s3.endpoint, "s3_bucket": bucket})
    stored, waiting = create_artifact(h), create_artifact(h)
    assert http("PUT", stored.artifact_presigned_url, stdin(1))[0] == 200

    own_s3.stop()
    code, body = http("PUT", waiting.artifact_presigned_url, stdin(*range(100_000)))
    assert code == 503 and b"bucket 'outage'" in body and b"retry" in body
    assert list((h.data_dir / "artifacts" / "tmp").iterdir()) == []
    assert h.healthz() == 200

    own_s3.start()
    assert h.partial_uploads() == set() and h.stored_artifacts() == {stored.artifact_uri}
    assert http("PUT", waiting.artifact_presigned_url, stdin(*range(100_000)))[0] == 200  # URL still usable
    assert h.artifact_bytes(waiting.artifact_uri) == stdin(*range(100_000))
