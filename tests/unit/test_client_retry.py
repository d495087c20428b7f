"""Retry classification, back-off and the signed-request retry loops (§1.3, §5, §6.3)."""

from __future__ import annotations

import grpc
import pytest

from network_lib import protowire
from network_lib.client import (
    DownloadError,
    HttpStatusError,
    NetworkClient,
    ProtocolError,
    RpcError,
    TransportError,
)
from network_lib.client.profiles import SDK_5_0, SDK_5_2, SDK_6
from network_lib.client.retry import ExponentialBackoff, is_transient, retry
from network_lib.client.testing import (
    FakeClock,
    FakeHttp,
    FakeTransport,
    artifact_handler,
    nonce_counter,
    not_found,
    plonk_fixture,
    request_ok,
)
from network_lib.proto import network_pb2 as pb

KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
S = grpc.StatusCode


def _rpc(code, details="x", method="RequestProof"):
    return RpcError(method, code, details)


@pytest.mark.parametrize("code", [S.UNAVAILABLE, S.DEADLINE_EXCEEDED, S.INTERNAL, S.ABORTED])
def test_transient_codes_all_versions(code):
    for p in (SDK_5_0, SDK_5_2, SDK_6):
        assert is_transient(_rpc(code), p)


@pytest.mark.parametrize("code", [S.NOT_FOUND, S.INVALID_ARGUMENT, S.UNAUTHENTICATED, S.PERMISSION_DENIED,
                                  S.FAILED_PRECONDITION, S.RESOURCE_EXHAUSTED, S.UNIMPLEMENTED, S.UNKNOWN])
def test_permanent_codes(code):
    for p in (SDK_5_0, SDK_5_2, SDK_6):
        assert not is_transient(_rpc(code), p)


def test_cancelled_and_not_ready_only_6x():
    assert not is_transient(_rpc(S.CANCELLED), SDK_5_0)
    assert not is_transient(_rpc(S.CANCELLED), SDK_5_2)
    assert is_transient(_rpc(S.CANCELLED), SDK_6)
    not_ready = _rpc(S.UNKNOWN, "service was not ready: transport error")
    assert is_transient(not_ready, SDK_6) and not is_transient(not_ready, SDK_5_0)


def test_text_classification_of_other_errors():
    assert is_transient(TransportError("error sending request for url (http://x)"), SDK_5_0)
    assert is_transient(OSError("Connection reset by peer"), SDK_5_0)
    assert is_transient(RuntimeError("dns error: failed to lookup address"), SDK_6)
    assert not is_transient(RuntimeError("no native certs found"), SDK_6)
    assert not is_transient(DownloadError("Failed to download from URI http://x: refused"), SDK_6)
    # A non-2xx is permanent even when the server's body text mentions a timeout.
    assert not is_transient(HttpStatusError("PUT", "u", 504, "gateway timeout"), SDK_6)
    assert not is_transient(ProtocolError("timeout in tx_hash"), SDK_6)


def test_backoff_sequence_and_budget():
    clock = FakeClock()
    b = ExponentialBackoff(clock=clock.monotonic, rng=lambda: 0.5)
    delays = []
    while (d := b.next_backoff()) is not None:
        delays.append(d)
        clock.sleep(d)
    assert delays[:4] == [1.0, 1.5, 2.25, 3.375]
    assert sum(delays) <= 120 and len(delays) == 10
    lo = ExponentialBackoff(clock=clock.monotonic, rng=lambda: 0.0)
    hi = ExponentialBackoff(clock=clock.monotonic, rng=lambda: 1.0)
    assert (lo.next_backoff(), hi.next_backoff()) == (0.5, 1.5)  # ±50 %


def test_retry_gives_up_after_budget_with_last_error():
    clock = FakeClock()
    calls = []

    def op():
        calls.append(clock.mono)
        raise _rpc(S.UNAVAILABLE, f"down {len(calls)}")

    with pytest.raises(RpcError, match="down 11"):
        retry(op, profile=SDK_6, what="t", clock=clock.monotonic, sleep=clock.sleep, rng=lambda: 0.5)
    assert len(calls) == 11 and clock.mono <= 120


def test_retry_permanent_error_is_immediate():
    clock = FakeClock()
    with pytest.raises(RpcError):
        retry(lambda: (_ for _ in ()).throw(_rpc(S.INVALID_ARGUMENT)), profile=SDK_6, what="t",
              clock=clock.monotonic, sleep=clock.sleep, rng=lambda: 0.5)
    assert clock.sleeps == []


def _client(profile, handlers, http=None):
    clock = FakeClock()
    t = FakeTransport(handlers)
    c = NetworkClient("http://x:1", KEY, profile, transport=t, http=http or FakeHttp(),
                      clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep, rng=lambda: 0.5)
    return c, t, clock


def _bodies(t):
    return [protowire.split_signed_envelope(r) for r in t.raw("RequestProof")]


def test_aborted_request_proof_refetches_nonce_and_resigns():
    c, t, clock = _client("6.x", {
        "CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(4),
        "RequestProof": [_rpc(S.ABORTED, "stale nonce"), _rpc(S.UNAVAILABLE), request_ok(b"\x07" * 32)],
    })
    assert c.request_proof(b"\x01" * 32, b"") == b"\x07" * 32
    assert t.methods() == ["CreateArtifact"] + ["GetNonce", "RequestProof"] * 3  # stdin uploaded once
    envs = _bodies(t)
    nonces = [pb.RequestProofRequestBody.FromString(b).nonce for _, _, b in envs]
    assert nonces == [4, 5, 6]
    assert len({sig for _, sig, _ in envs}) == 3
    assert {pb.RequestProofRequestBody.FromString(b).stdin_uri for _, _, b in envs} == {"http://127.0.0.1:9010/artifacts/stdin/1"}
    assert clock.sleeps == [1.0, 1.5]


def test_aborted_create_program_retries_with_new_nonce():
    c, t, _ = _client("5.0", {
        "GetProgram": not_found(), "CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(),
        "CreateProgram": [_rpc(S.ABORTED, method="CreateProgram"), pb.CreateProgramResponse()],
    })
    c.register_program(b"\x01" * 32, b"vk", b"elf")
    assert t.methods()[-4:] == ["GetNonce", "CreateProgram", "GetNonce", "CreateProgram"]


def test_get_program_ok_skips_registration():
    c, t, _ = _client("6.x", {"GetProgram": pb.GetProgramResponse()})
    assert c.register_program(b"\x01" * 32, b"vk", b"elf") is False
    assert t.methods() == ["GetProgram"]


def test_get_program_transient_then_permanent():
    c, t, _ = _client("6.x", {"GetProgram": [_rpc(S.INTERNAL, method="GetProgram"), _rpc(S.PERMISSION_DENIED, method="GetProgram")]})
    with pytest.raises(RpcError, match="PERMISSION_DENIED"):
        c.register_program(b"\x01" * 32, b"vk", b"elf")
    assert t.methods() == ["GetProgram", "GetProgram"]


@pytest.mark.parametrize("profile,attempts", [("5.0", 1), ("5.2", 1), ("6.x", 2)])
def test_create_artifact_retried_only_on_6x(profile, attempts):
    c, t, _ = _client(profile, {
        "CreateArtifact": [_rpc(S.UNAVAILABLE, method="CreateArtifact"), artifact_handler()],
        "GetNonce": nonce_counter(), "RequestProof": request_ok(),
    })
    if attempts == 1:
        with pytest.raises(RpcError, match="UNAVAILABLE"):
            c.request_proof(b"\x01" * 32, b"")
    else:
        c.request_proof(b"\x01" * 32, b"")
    assert t.methods().count("CreateArtifact") == attempts


@pytest.mark.parametrize("profile,retried", [("5.0", False), ("6.x", True)])
def test_cancelled_request_proof(profile, retried):
    c, t, _ = _client(profile, {
        "CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(),
        "RequestProof": [_rpc(S.CANCELLED, "Timeout expired"), request_ok()],
    })
    if retried:
        c.request_proof(b"\x01" * 32, b"")
    else:
        with pytest.raises(RpcError, match="CANCELLED"):
            c.request_proof(b"\x01" * 32, b"")


def test_upload_transport_errors_retried_http_errors_not():
    http = FakeHttp()
    http.put_errors = [TransportError("error sending request for url (u): connection refused")]
    handlers = {"CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(), "RequestProof": request_ok()}
    c, _, clock = _client("6.x", handlers, http)
    c.request_proof(b"\x01" * 32, b"abc")
    assert len(http.puts) == 1 and clock.sleeps == [1.0]
    http.put_errors = [HttpStatusError("PUT", "u", 409, "different bytes")]
    with pytest.raises(HttpStatusError, match="HTTP 409: different bytes"):
        c.request_proof(b"\x01" * 32, b"abc")


@pytest.mark.parametrize("resp,match", [
    (pb.RequestProofResponse(tx_hash=b"\x00" * 31, body=pb.RequestProofResponseBody(request_id=b"\x01" * 32)), "31-byte tx_hash"),
    (pb.RequestProofResponse(tx_hash=b"\x00" * 32), "no body"),
    (pb.RequestProofResponse(tx_hash=b"\x00" * 32, body=pb.RequestProofResponseBody(request_id=b"\x01" * 30)), "30-byte request id"),
    (pb.RequestProofResponse(tx_hash=b"", body=pb.RequestProofResponseBody()), "0-byte tx_hash"),
])
def test_request_proof_response_checks(resp, match):
    c, t, _ = _client("6.x", {"CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(), "RequestProof": resp})
    with pytest.raises(ProtocolError, match=match):
        c.request_proof(b"\x01" * 32, b"")
    assert t.methods().count("RequestProof") == 1  # would-be panics are not retried


def test_request_body_fields_and_hosted_limits():
    c, t, clock = _client("6.x", {"CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(), "RequestProof": request_ok()})
    c.request_proof(b"\x01" * 32, b"", "groth16", timeout_secs=60, strategy=pb.RESERVED)
    c.request_proof(b"\x01" * 32, b"", "plonk", hosted=True)
    first, second = (pb.RequestProofRequestBody.FromString(b) for _, _, b in _bodies(t))
    assert (first.mode, first.strategy, first.deadline, first.version) == (pb.GROTH16, pb.RESERVED, int(clock.now) + 60, "sp1-v6.1.0")
    assert (first.cycle_limit, first.gas_limit) == (100_000_000, 1_000_000_000)
    assert second.cycle_limit == second.gas_limit == 2**64 - 1
    assert second.deadline == int(clock.now) + 14_400


def test_balance_must_be_decimal_u256():
    c, _, _ = _client("6.x", {"GetBalance": pb.GetBalanceResponse(amount=str(2**256 - 1))})
    assert c.get_balance() == 2**256 - 1
    c, _, _ = _client("6.x", {"GetBalance": pb.GetBalanceResponse(amount="1.5")})
    with pytest.raises(ProtocolError, match="not a decimal U256"):
        c.get_balance()


def test_details_and_filtered_listing():
    seen = []

    def listing(req):
        seen.append(req)
        return pb.GetFilteredProofRequestsResponse(requests=[pb.ProofRequest(request_id=b"\x01" * 32)])

    c, _, _ = _client("6.x", {
        "GetProofRequestDetails": [pb.GetProofRequestDetailsResponse(request=pb.ProofRequest(cycle_limit=5)),
                                   pb.GetProofRequestDetailsResponse()],
        "GetFilteredProofRequests": listing,
    })
    assert c.get_proof_request_details(b"\x01" * 32).cycle_limit == 5
    assert c.get_proof_request_details(b"\x01" * 32) is None
    reqs = c.get_filtered_proof_requests(fulfillment_status="fulfilled", vk_hash="0x" + "ab" * 32,
                                         from_=10, limit=5, mode=None)
    assert len(reqs) == 1
    (req,) = seen
    assert req.fulfillment_status == pb.FULFILLED and req.vk_hash == b"\xab" * 32
    assert getattr(req, "from") == 10 and req.limit == 5 and not req.HasField("mode")
    with pytest.raises(ValueError, match="unknown filter"):
        c.get_filtered_proof_requests(colour="red")
    with pytest.raises(ValueError, match="unknown FulfillmentStatus"):
        c.get_filtered_proof_requests(fulfillment_status="done")


def test_prove_runs_register_request_wait():
    PROOF = plonk_fixture()
    http = FakeHttp()
    http.objects["http://h/proof"] = PROOF
    c, t, _ = _client("6.x", {
        "GetProgram": not_found(), "CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(),
        "CreateProgram": pb.CreateProgramResponse(), "RequestProof": request_ok(),
        "GetProofRequestStatus": pb.GetProofRequestStatusResponse(
            fulfillment_status=pb.FULFILLED, execution_status=pb.EXECUTED, deadline=2**40, proof_uri="http://h/proof"),
    }, http)
    assert c.prove(b"\x01" * 32, b"vk", b"elf", b"stdin", "plonk") == PROOF
    assert t.methods() == ["GetProgram", "CreateArtifact", "GetNonce", "CreateProgram",
                           "CreateArtifact", "GetNonce", "RequestProof", "GetProofRequestStatus"]
    with pytest.raises(ValueError, match="HOSTED or RESERVED"):
        c.prove(b"\x01" * 32, b"vk", b"elf", b"stdin", strategy=pb.AUCTION)
