"""Bad input is refused with a clear error, stores nothing, and the server keeps serving."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import grpc
import pytest
import zstandard

from network_lib import signing
from network_lib.client import NetworkClient
from network_lib.client.errors import RpcError
from network_lib.proto import artifact_pb2, artifact_pb2_grpc, network_pb2 as pb, network_pb2_grpc
from network_lib.protowire import encode_signed_envelope
from tests.integration.sp1data import ADDR0, ADDR1, KEY0, KEY1, elf, stdin, vk, vk_hash


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


BOTH_STORES = True      # SQLite + files, and PostgreSQL + S3 (tests/integration/conftest.py)


def artifacts_on_disk(h) -> set[str]:
    """Every stored artifact and every partial upload (files, or the bucket's objects and
    unfinished multipart uploads)."""
    return h.stored_artifacts() | h.partial_uploads()


def new_upload(h, kind=artifact_pb2.STDIN):
    stub = artifact_pb2_grpc.ArtifactStoreStub(grpc.insecure_channel(h.grpc_target))
    return stub.CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=kind))


def request_body(stdin_uri: str, nonce: int, h: bytes = vk_hash(1)) -> bytes:
    return pb.RequestProofRequestBody(
        nonce=nonce, vk_hash=h, version="sp1-v6.1.0", mode=1, strategy=1, stdin_uri=stdin_uri,
        deadline=int(time.time()) + 600).SerializeToString()


def raw_call(h, method: str, payload: bytes):
    service = "artifact.ArtifactStore" if method == "CreateArtifact" else "network.ProverNetwork"
    return grpc.insecure_channel(h.grpc_target).unary_unary(f"/{service}/{method}")(payload, timeout=20)


def assert_serving(h):
    assert h.healthz() == 200
    stub = network_pb2_grpc.ProverNetworkStub(grpc.insecure_channel(h.grpc_target))
    assert stub.GetNonce(pb.GetNonceRequest(address=b"\0" * 20)).nonce == 0


def requests_listed(h) -> int:
    stub = network_pb2_grpc.ProverNetworkStub(grpc.insecure_channel(h.grpc_target))
    return len(stub.GetFilteredProofRequests(pb.GetFilteredProofRequestsRequest(limit=100)).requests)


@pytest.fixture
def verify(make_hierophant):
    h = make_hierophant(auth={"mode": "verify"})
    with NetworkClient(h.rpc_url, KEY0) as c:
        c.register_program(vk_hash(1), vk(), elf())
    return h


def test_corrupted_body_signature_is_refused_and_creates_nothing(verify):
    with NetworkClient(verify.rpc_url, KEY0) as c:
        stdin_uri = c._create_and_upload(artifact_pb2.STDIN, stdin(1))
        nonce = c.get_nonce()
    body = request_body(stdin_uri, nonce)
    good = signing.sign(body, KEY0, signing.VStyle.ETHEREUM)
    for bad in (good[:64] + b"\x05",                         # v outside {0,1,27,28}
                b"\xff" * 32 + good[32:],                    # r >= n: unrecoverable
                good[:10] + bytes([good[10] ^ 1]) + good[11:],   # recovers some other address
                b"", good[:40]):
        with pytest.raises(grpc.RpcError) as e:
            raw_call(verify, "RequestProof", encode_signed_envelope(1, bad, body))
        assert e.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
        assert "signature" in e.value.details() or "not by the signer" in e.value.details()
    assert requests_listed(verify) == 0
    with NetworkClient(verify.rpc_url, KEY0) as c:
        assert c.get_nonce() == nonce          # rejections consume no nonce
    assert_serving(verify)


def test_wrong_key_cannot_use_anothers_upload(verify):
    """verify: a body signed by key 1 may not use the stdin that key 0 uploaded."""
    with NetworkClient(verify.rpc_url, KEY0) as c:
        stdin_uri = c._create_and_upload(artifact_pb2.STDIN, stdin(1))
    with NetworkClient(verify.rpc_url, KEY1) as other:
        nonce = other.get_nonce()
        body = request_body(stdin_uri, nonce)
        env = encode_signed_envelope(1, signing.sign(body, KEY1, signing.VStyle.ETHEREUM), body)
    with pytest.raises(grpc.RpcError) as e:
        raw_call(verify, "RequestProof", env)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert signing.address_hex(ADDR0) in e.value.details() and signing.address_hex(ADDR1) in e.value.details()
    assert requests_listed(verify) == 0


def test_replayed_nonce_is_aborted(verify):
    with NetworkClient(verify.rpc_url, KEY0) as c:
        stdin_uri = c._create_and_upload(artifact_pb2.STDIN, stdin(1))
        nonce = c.get_nonce()
    body = request_body(stdin_uri, nonce)
    env = encode_signed_envelope(1, signing.sign(body, KEY0, signing.VStyle.ETHEREUM), body)
    first = pb.RequestProofResponse.FromString(raw_call(verify, "RequestProof", env))
    with pytest.raises(grpc.RpcError) as e:
        raw_call(verify, "RequestProof", env)          # the very same signed bytes again
    assert e.value.code() == grpc.StatusCode.ABORTED   # the SDK re-fetches and re-signs (§3.3)
    assert f"nonce {nonce}" in e.value.details()
    assert requests_listed(verify) == 1 and len(first.body.request_id) == 32


def test_allowlist_refuses_unlisted_signers(make_hierophant):
    h = make_hierophant(auth={"mode": "allowlist", "allowlist": [signing.address_hex(ADDR0)]})
    with NetworkClient(h.rpc_url, KEY1) as stranger:
        with pytest.raises(RpcError) as e:
            stranger.create_artifact("STDIN")
    assert e.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert signing.address_hex(ADDR1) in str(e.value) and "allowlist" in str(e.value)
    with NetworkClient(h.rpc_url, KEY0, profile="6.x") as member:   # v=54/55 normalised (§3.3)
        member.register_program(vk_hash(2), vk(), elf())
        rid = member.request_proof(vk_hash(2), stdin(1), "core")
        assert member.get_proof_request_details(rid).requester == ADDR0
    assert len([a for a in h.stored_artifacts() if a.startswith("stdin_")]) == 1


def test_upload_to_a_proof_location_is_refused(hierophant):
    stub = artifact_pb2_grpc.ArtifactStoreStub(grpc.insecure_channel(hierophant.grpc_target))
    with pytest.raises(grpc.RpcError) as e:
        stub.CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=artifact_pb2.PROOF))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    code, body = http("PUT", f"{hierophant.http_url}/proofs/anything", b"x" * 100)
    assert code == 405 and b"cannot be uploaded" in body
    code, _ = http("POST", f"{hierophant.http_url}/proofs/anything", b"x")
    assert code == 405


def test_stdin_and_programs_are_never_downloadable(hierophant):
    with NetworkClient(hierophant.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(3), vk(), elf(b"secret-program"))
        program_uri = c.get_program(vk_hash(3)).program_uri
        stdin_art = new_upload(hierophant)
        assert http("PUT", stdin_art.artifact_presigned_url, stdin(1))[0] == 200
    for url in (f"{hierophant.http_url}/{program_uri}", f"{hierophant.http_url}/proofs/{program_uri}",
                stdin_art.artifact_presigned_url,
                f"{hierophant.http_url}/{stdin_art.artifact_uri}",
                f"{hierophant.http_url}/artifacts/{stdin_art.artifact_uri}",
                f"{hierophant.http_url}/proofs/{stdin_art.artifact_uri}",
                f"{hierophant.http_url}/proofs/{stdin_art.artifact_presigned_url.rsplit('/', 1)[1]}"):
        code, body = http("GET", url)
        assert code in (404, 405), (url, code)
        assert stdin(1) not in body and b"secret-program" not in body


@pytest.mark.parametrize("path", ["/proofs/..%2F..%2Fhierophant.sqlite3", "/proofs/../hierophant.sqlite3",
                                  "/proofs/%2e%2e/%2e%2e/lock", "/upload/..%2F..%2Fx", "/../../etc/passwd",
                                  "/proofs/..", "/proofs/%00"])
def test_path_traversal(hierophant, path):
    with socket.create_connection(("127.0.0.1", hierophant.http_port), timeout=10) as s:
        for method in ("GET", "PUT"):
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".encode())
            head = s.recv(65536).split(b"\r\n", 1)[0]
            assert head.split()[1] in (b"404", b"405", b"400"), (method, path, head)
    assert not (hierophant.workdir / "x").exists()
    assert_serving(hierophant)


def test_oversized_upload_is_refused_early_and_url_stays_usable(make_hierophant):
    h = make_hierophant(limits={"max_artifact_bytes": 1 << 20})
    art = new_upload(h)
    code, body = http("PUT", art.artifact_presigned_url, b"\0" * (2 << 20))
    assert code == 413 and b"max_artifact_bytes" in body
    # chunked (no Content-Length): refused as the bytes arrive
    req = urllib.request.Request(art.artifact_presigned_url, data=iter([b"\0" * 65536] * 40), method="PUT")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 413
    assert artifacts_on_disk(h) == set()
    assert http("PUT", art.artifact_presigned_url, stdin(7))[0] == 200
    assert_serving(h)


def test_zstd_bomb_is_refused_and_leaves_nothing(make_hierophant):
    h = make_hierophant(limits={"max_decompressed_bytes": 8 << 20})
    bomb = zstandard.ZstdCompressor(level=19).compress(b"\0" * (512 << 20))
    assert len(bomb) < 1 << 20
    art = new_upload(h)
    code, body = http("PUT", art.artifact_presigned_url, bomb)
    assert code == 413 and b"max_decompressed_bytes" in body
    assert artifacts_on_disk(h) == set()
    truncated = zstandard.ZstdCompressor().compress(stdin(*range(1000)))[:-5]
    code, body = http("PUT", art.artifact_presigned_url, truncated)
    assert code == 400 and b"zstd" in body
    assert http("PUT", art.artifact_presigned_url, b"\x28\xb5\x2f\xfd" + b"garbage" * 10)[0] == 400
    assert artifacts_on_disk(h) == set()
    assert_serving(h)


def test_upload_url_answers_same_bytes_200_different_409(hierophant):
    art = new_upload(hierophant)
    assert http("PUT", art.artifact_presigned_url, stdin(1))[0] == 200
    assert http("PUT", art.artifact_presigned_url, stdin(1))[0] == 200
    code, body = http("PUT", art.artifact_presigned_url, stdin(2))
    assert code == 409 and b"different bytes" in body
    assert hierophant.artifact_bytes(art.artifact_uri) == stdin(1)
    assert http("PUT", f"{hierophant.http_url}/upload/not-a-token", stdin(1))[0] == 404


def test_program_uploads_must_be_bincode_elf(hierophant):
    art = new_upload(hierophant, artifact_pb2.PROGRAM)
    code, body = http("PUT", art.artifact_presigned_url, b"not an elf at all, not even bincode")
    assert code == 400 and b"bincode(ELF)" in body


@pytest.mark.parametrize("method", ["CreateArtifact", "GetProgram", "CreateProgram", "GetNonce",
                                    "RequestProof", "GetProofRequestStatus", "GetProofRequestDetails",
                                    "GetFilteredProofRequests", "GetBalance"])
def test_garbage_protobuf_is_invalid_argument(hierophant, method):
    for garbage in (b"\xff\xff\xff\xff", b"\x0a\x80", b"\x1a\x05abc"):
        with pytest.raises(grpc.RpcError) as e:
            raw_call(hierophant, method, garbage)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, garbage, e.value.details())
        assert "malformed" in e.value.details()
    assert_serving(hierophant)


@pytest.mark.parametrize("field,value,expect", [
    ("vk_hash", b"\x01" * 31, "vk_hash must be 32 bytes"),
    ("version", "sp1-v4.0.0", "sp1-v4.0.0"),
    ("mode", 7, "mode 7"),
    ("stdin_uri", "stdin_doesnotexist", "not a STDIN artifact"),
])
def test_bad_request_fields_name_the_problem(hierophant, field, value, expect):
    with NetworkClient(hierophant.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(1), vk(), elf())
        stdin_uri = c._create_and_upload(artifact_pb2.STDIN, stdin(1))
    body = pb.RequestProofRequestBody(nonce=0, vk_hash=vk_hash(1), version="sp1-v6.1.0", mode=1,
                                      stdin_uri=stdin_uri, deadline=int(time.time()) + 60)
    setattr(body, field, value)
    with pytest.raises(grpc.RpcError) as e:
        raw_call(hierophant, "RequestProof", encode_signed_envelope(1, b"", body.SerializeToString()))
    assert e.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
    assert expect in e.value.details()
    assert requests_listed(hierophant) == 0


def test_unregistered_program_and_unuploaded_stdin(hierophant):
    with NetworkClient(hierophant.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(1), vk(), elf())
        empty = c.create_artifact("STDIN").artifact_uri
        with pytest.raises(RpcError) as e:
            c.create_program(vk_hash(2), vk(), empty)
        assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
        body = pb.RequestProofRequestBody(nonce=0, vk_hash=vk_hash(1), version="sp1-v6.1.0", mode=1,
                                          stdin_uri=empty, deadline=int(time.time()) + 60)
    with pytest.raises(grpc.RpcError) as e:
        raw_call(hierophant, "RequestProof", encode_signed_envelope(1, b"", body.SerializeToString()))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "has not been uploaded" in e.value.details()
