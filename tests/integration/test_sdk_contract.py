"""sdk-network-contract.md §9 checklist items that need no worker, against a real twistd
hierophant, with the Python client standing in for the Rust SDK."""
from __future__ import annotations

import time
import urllib.error
import urllib.request

import grpc
import pytest
import zstandard

from network_lib.client import NetworkClient
from network_lib.proto import artifact_pb2, network_pb2 as pb, network_pb2_grpc
from tests.integration.sp1data import ADDR0, KEY0, U64_MAX, elf, stdin, vk, vk_hash

BOTH_STORES = True      # SQLite + files, and PostgreSQL + S3 (tests/integration/conftest.py)

PROFILES = ["5.0", "5.2", "6.x"]


def put(url: str, body: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="PUT")  # no Content-Type (§4.2)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def stub(h):
    return network_pb2_grpc.ProverNetworkStub(grpc.insecure_channel(h.grpc_target))


@pytest.mark.parametrize("profile", PROFILES)
def test_register_request_and_poll_like_the_sdk(make_hierophant, profile):
    """Items 1-11 and 16: register, upload, request, each profile's signatures verified and the
    signer recorded; the id is known at once and the deadline echoed."""
    hierophant = make_hierophant(auth={"mode": "verify"})
    with NetworkClient(hierophant.rpc_url, KEY0, profile=profile) as client:
        h = vk_hash(100 + PROFILES.index(profile))
        assert client.get_program(h) is None                      # item 5: NOT_FOUND first
        assert client.register_program(h, vk(), elf()) is True    # items 2, 3, 6
        assert client.get_program(h).vk_hash == h                 # item 5: OK afterwards
        assert client.register_program(h, vk(), elf()) is False   # GetProgram OK: skipped
        before = int(time.time())
        rid = client.request_proof(h, stdin(1000), "compressed", timeout_secs=3600)
        assert len(rid) == 32                                     # item 8
        status = client.get_proof_status(rid)                     # item 9: no NOT_FOUND window
        assert status.fulfillment_status == pb.REQUESTED          # item 11
        assert status.execution_status == pb.UNEXECUTED
        assert before + 3600 <= status.deadline <= int(time.time()) + 3600   # item 10
        assert len(status.request_tx_hash) == 32
        assert not status.HasField("proof_uri")
        details = client.get_proof_request_details(rid)
        assert details.request_id == rid and details.mode == pb.COMPRESSED
        assert details.version == ("sp1-v6.1.0" if profile == "6.x" else "sp1-v5.0.0")
        assert details.requester == ADDR0


def test_request_proof_response_ids_are_32_bytes(hierophant):
    """Item 8 at the byte level: tx_hash and body.request_id exactly 32 bytes."""
    with NetworkClient(hierophant.rpc_url, KEY0) as client:
        client.register_program(vk_hash(1), vk(), elf())
        stdin_uri = client._create_and_upload(artifact_pb2.STDIN, stdin(1))
    body = pb.RequestProofRequestBody(nonce=0, vk_hash=vk_hash(1), version="sp1-v6.1.0", mode=1,
                                      strategy=1, stdin_uri=stdin_uri, deadline=int(time.time()) + 60)
    resp = stub(hierophant).RequestProof(pb.RequestProofRequest(format=1, signature=b"\0" * 65, body=body))
    assert len(resp.tx_hash) == 32 and resp.HasField("body") and len(resp.body.request_id) == 32


@pytest.mark.parametrize("kind", [artifact_pb2.PROGRAM, artifact_pb2.STDIN, artifact_pb2.PRIVATE_STDIN])
def test_create_artifact_types_and_urls(hierophant, kind):
    """Item 2: types 1, 2 and 7; a non-empty uri and an absolute upload URL."""
    resp = artifact_stub(hierophant).CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=kind))
    assert resp.artifact_uri
    assert resp.artifact_presigned_url.startswith(hierophant.http_url + "/upload/")
    assert resp.artifact_uri not in resp.artifact_presigned_url   # ids are not links


def artifact_stub(h):
    from network_lib.proto import artifact_pb2_grpc
    return artifact_pb2_grpc.ArtifactStoreStub(grpc.insecure_channel(h.grpc_target))


@pytest.mark.parametrize("kind", [artifact_pb2.PROOF, artifact_pb2.UNSPECIFIED_ARTIFACT_TYPE, 99])
def test_create_artifact_refuses_other_types(hierophant, kind):
    with pytest.raises(grpc.RpcError) as e:
        artifact_stub(hierophant).CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=kind))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_zstd_and_raw_uploads_are_both_stored_decoded(hierophant):
    """Items 3-4: zstd frames without content size are decoded streaming; raw is kept."""
    payload = stdin(*range(50_000))
    cobj = zstandard.ZstdCompressor(level=3).compressobj()
    frame = cobj.compress(payload) + cobj.flush()
    assert frame[:4] == b"\x28\xb5\x2f\xfd"
    assert zstandard.get_frame_parameters(frame).content_size == zstandard.CONTENTSIZE_UNKNOWN
    ids = []
    for body in (frame, payload):
        resp = artifact_stub(hierophant).CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=2))
        assert put(resp.artifact_presigned_url, body)[0] == 200
        ids.append(resp.artifact_uri)
    assert [hierophant.artifact_bytes(i) for i in ids] == [payload, payload]


def test_large_upload_streams_to_disk(hierophant):
    """Item 3 (hundreds of MB): a 256 MiB PUT is accepted, stored whole, RSS stays small."""
    size = 256 << 20
    block = bytes(range(256)) * 4096   # 1 MiB
    resp = artifact_stub(hierophant).CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=2))

    class Body:
        def __init__(self):
            self.left = size

        def read(self, n=-1):
            if self.left <= 0:
                return b""
            chunk = block[: min(len(block), self.left, n if n > 0 else len(block))]
            self.left -= len(chunk)
            return chunk

    req = urllib.request.Request(resp.artifact_presigned_url, data=Body(), method="PUT",
                                 headers={"Content-Length": str(size)})
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.status == 200
    assert len(hierophant.artifact_bytes(resp.artifact_uri)) == size
    rss_kb = int(next(line for line in open(f"/proc/{hierophant.proc.pid}/status") if line.startswith("VmHWM")).split()[1])
    # S3: boto3 itself, and up to 4 parts of 16 MiB in flight (hierophant/s3blobs.py), on top.
    limit_mib = 220 if hierophant.cfg.get("artifacts", {}).get("backend") == "s3" else 150
    assert rss_kb < limit_mib * 1024, f"peak RSS {rss_kb} kB"


def test_get_nonce_for_any_address_and_balance_is_u256(hierophant):
    """Items 7 and 23."""
    s = stub(hierophant)
    assert s.GetNonce(pb.GetNonceRequest(address=b"\x42" * 20)).nonce == 0
    amount = s.GetBalance(pb.GetBalanceRequest(address=b"\x42" * 20)).amount
    assert amount.isdigit() and int(amount) <= (1 << 256) - 1


def test_u64_max_limits_are_stored_losslessly(make_hierophant):
    """Item 26: hosted mode sends cycle_limit = gas_limit = u64::MAX; they survive a restart."""
    h = make_hierophant()
    with NetworkClient(h.rpc_url, KEY0, profile="6.x") as client:
        client.register_program(vk_hash(7), vk(), elf())
        rid = client.request_proof(vk_hash(7), stdin(5), "core", hosted=True)
        d = client.get_proof_request_details(rid)
        assert d.cycle_limit == U64_MAX and d.gas_limit == U64_MAX
    h.restart()
    with NetworkClient(h.rpc_url, KEY0, profile="6.x") as client:
        d = client.get_proof_request_details(rid)
        assert d.cycle_limit == U64_MAX and d.gas_limit == U64_MAX


def test_details_leave_tags_34_and_35_at_defaults(hierophant):
    """Item 24: 6.0-6.3 clients decode details with the auction schema (§2.6)."""
    with NetworkClient(hierophant.rpc_url, KEY0, profile="6.x") as client:
        client.register_program(vk_hash(8), vk(), elf())
        rid = client.request_proof(vk_hash(8), stdin(5), "core", private_stdin=True)
    raw = grpc.insecure_channel(hierophant.grpc_target).unary_unary(
        "/network.ProverNetwork/GetProofRequestDetails")(
        pb.GetProofRequestDetailsRequest(request_id=rid).SerializeToString())
    request = pb.GetProofRequestDetailsResponse.FromString(raw).request
    assert len(request.request_id) == 32
    assert request.error == 0 and request.stdin_private is False
    inner = pb.ProofRequest.SerializeToString(request)
    from network_lib.protowire import iter_fields
    assert not {f.number for f in iter_fields(inner)} & {34, 35}


@pytest.mark.parametrize("method", ["GetProofRequestParams", "Bid", "CancelRequest", "FulfillProof",
                                    "GetStdinUri", "SubscribeProofRequests"])
def test_unused_methods_answer_unimplemented(hierophant, method):
    """Item 25: never hang."""
    call = grpc.insecure_channel(hierophant.grpc_target).unary_unary(f"/network.ProverNetwork/{method}")
    with pytest.raises(grpc.RpcError) as e:
        call(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_unknown_request_id_is_not_found(hierophant):
    s = stub(hierophant)
    for call, req in ((s.GetProofRequestStatus, pb.GetProofRequestStatusRequest),
                      (s.GetProofRequestDetails, pb.GetProofRequestDetailsRequest)):
        with pytest.raises(grpc.RpcError) as e:
            call(req(request_id=b"\x01" * 32))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert "0x" + "01" * 32 in e.value.details()


def test_large_requests_reach_the_handler(hierophant):
    """Item 19: requests up to 64 MiB are accepted by the transport (the vk limit answers)."""
    body = pb.CreateProgramRequestBody(nonce=0, vk_hash=vk_hash(9), vk=b"\0" * (20 << 20), program_uri="x")
    req = pb.CreateProgramRequest(format=1, signature=b"\0" * 65, body=body)
    with pytest.raises(grpc.RpcError) as e:
        stub(hierophant).CreateProgram(req, timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "vk of" in e.value.details()


def test_idle_keepalive_pings_are_tolerated(hierophant):
    """Item 20: a client pinging while idle (as the SDK does every 15 s) is never sent away."""
    options = [("grpc.keepalive_time_ms", 200), ("grpc.keepalive_timeout_ms", 5000),
               ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0),
               ("grpc.http2.min_time_between_pings_ms", 200)]
    channel = grpc.insecure_channel(hierophant.grpc_target, options=options)
    states = []
    channel.subscribe(states.append, try_to_connect=True)
    s = network_pb2_grpc.ProverNetworkStub(channel)
    s.GetNonce(pb.GetNonceRequest(address=b"\0" * 20))
    # A default grpc-core server sends GOAWAY(too_many_pings) after two pings inside 5 min;
    # give the client time for ~10 idle pings and check the connection never dropped.
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        time.sleep(0.1)
    s.GetNonce(pb.GetNonceRequest(address=b"\0" * 20))
    ready = states.index(grpc.ChannelConnectivity.READY)
    assert grpc.ChannelConnectivity.IDLE not in states[ready:], states
    assert grpc.ChannelConnectivity.TRANSIENT_FAILURE not in states[ready:], states
    channel.close()


def test_request_proof_is_idempotent_for_retries(make_hierophant):
    """DESIGN.md: a retry with a fresh nonce (lost response) returns the first request id."""
    hierophant = make_hierophant(auth={"mode": "verify"})
    with NetworkClient(hierophant.rpc_url, KEY0, profile="6.x") as client:
        client.register_program(vk_hash(11), vk(), elf())
        stdin_uri = client._create_and_upload(artifact_pb2.STDIN, stdin(3))
        fields = dict(vk_hash=vk_hash(11), version="sp1-v6.1.0", mode=1, strategy=1,
                      stdin_uri=stdin_uri, deadline=int(time.time()) + 600, cycle_limit=1, gas_limit=1,
                      stdin_private=False)
        nonce = client.get_nonce()
        first = client._request_once(fields).body.request_id
        second = client._request_once(fields).body.request_id    # fetches a fresh nonce
        assert first == second
        assert client.get_nonce() == nonce + 2   # both nonces were consumed
        other = client._request_once({**fields, "mode": 2}).body.request_id
        assert other != first


def test_filtered_requests_filters_and_pagination(make_hierophant):
    hierophant = make_hierophant(auth={"mode": "verify"})
    with NetworkClient(hierophant.rpc_url, KEY0, profile="6.x") as client:
        client.register_program(vk_hash(20), vk(), elf())
        client.register_program(vk_hash(30), vk(), elf())
        ids_a = [client.request_proof(vk_hash(20), stdin(i), "core") for i in range(5)]
        ids_b = [client.request_proof(vk_hash(30), stdin(i), "plonk") for i in range(3)]
        everything = client.get_filtered_proof_requests(limit=100)
        assert {r.request_id for r in everything} == set(ids_a + ids_b)
        assert {r.request_id for r in client.get_filtered_proof_requests(vk_hash=vk_hash(30))} == set(ids_b)
        assert {r.request_id for r in client.get_filtered_proof_requests(mode="PLONK")} == set(ids_b)
        assert client.get_filtered_proof_requests(fulfillment_status="FULFILLED") == []
        pages = [client.get_filtered_proof_requests(limit=3, page=p) for p in (1, 2, 3)]
        assert [len(p) for p in pages] == [3, 3, 2]
        assert {r.request_id for p in pages for r in p} == set(ids_a + ids_b)
        assert len(client.get_filtered_proof_requests()) == 8      # default limit 10
        assert client.get_filtered_proof_requests(requester=b"\x01" * 20) == []
        assert len(client.get_filtered_proof_requests(requester=ADDR0, limit=100)) == 8
        assert client.get_filtered_proof_requests(minimum_deadline=U64_MAX - 1) == []
