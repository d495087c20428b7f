"""Wait-loop outcomes per SDK generation (sdk-network-contract.md §5.7-§5.9, §6.1)."""

from __future__ import annotations

import pytest

from network_lib.client import (
    NetworkClient,
    ProtocolError,
    RequestExpired,
    RequestReverted,
    RequestTimedOut,
    RequestUnexecutable,
    RequestUnfulfillable,
)
from network_lib.client.outcome import Verdict, decide
from network_lib.client.profiles import OutcomeOrder
from network_lib.client.testing import FakeClock, FakeHttp, FakeTransport, plonk_fixture
from network_lib.proto import network_pb2 as pb

RID = bytes(range(32))
NOW = 1_700_000_000
PROOF_URI = "http://h/proof/1"
PROOF = plonk_fixture()  # §4.6, 6.x

F, E = pb.FulfillmentStatus, pb.ExecutionStatus
D, FF, V64 = OutcomeOrder.DEADLINE_FIRST, OutcomeOrder.FULFILLED_FIRST, OutcomeOrder.V6_4


@pytest.mark.parametrize("order,f,e,late,verdict", [
    # 5.0 / 5.2 / 6.0-6.1: deadline, unexecutable, fulfilled, unfulfillable
    (D, pb.FULFILLED, pb.EXECUTED, True, Verdict.TIMED_OUT),
    (D, pb.FULFILLED, pb.UNEXECUTABLE, False, Verdict.UNEXECUTABLE),
    (D, pb.UNFULFILLABLE, pb.UNEXECUTABLE, True, Verdict.TIMED_OUT),
    (D, pb.UNFULFILLABLE, pb.UNEXECUTED, False, Verdict.UNFULFILLABLE),
    (D, pb.REQUESTED, pb.UNEXECUTABLE, False, Verdict.UNEXECUTABLE),
    (D, pb.FULFILLED, pb.EXECUTED, False, Verdict.FULFILLED),
    (D, pb.ASSIGNED, pb.EXECUTED, False, Verdict.PENDING),
    (D, pb.UNSPECIFIED_FULFILLMENT_STATUS, pb.UNSPECIFIED_EXECUTION_STATUS, False, Verdict.PENDING),
    # 6.2-6.3: fulfilled, unexecutable, unfulfillable, deadline
    (FF, pb.FULFILLED, pb.UNEXECUTABLE, True, Verdict.FULFILLED),
    (FF, pb.UNFULFILLABLE, pb.UNEXECUTABLE, True, Verdict.UNEXECUTABLE),
    (FF, pb.UNFULFILLABLE, pb.EXECUTED, True, Verdict.UNFULFILLABLE),
    (FF, pb.REQUESTED, pb.UNEXECUTED, True, Verdict.TIMED_OUT),
    (FF, pb.REVERTED, pb.UNEXECUTED, False, Verdict.PENDING),
    # 6.4: plus REVERTED / EXPIRED before the deadline check
    (V64, pb.FULFILLED, pb.UNEXECUTABLE, True, Verdict.FULFILLED),
    (V64, pb.REVERTED, pb.EXECUTED, True, Verdict.REVERTED),
    (V64, pb.EXPIRED, pb.UNEXECUTED, True, Verdict.EXPIRED),
    (V64, pb.EXPIRED, pb.UNEXECUTABLE, False, Verdict.UNEXECUTABLE),
    (V64, pb.ASSIGNED, pb.EXECUTED, True, Verdict.TIMED_OUT),
    (V64, pb.ASSIGNED, pb.EXECUTED, False, Verdict.PENDING),
])
def test_decide_table(order, f, e, late, verdict):
    deadline = NOW - 1 if late else NOW
    assert decide(order, f, e, deadline, NOW) is verdict


def _status(f, e=pb.EXECUTED, deadline=NOW + 100, uri=None):
    st = pb.GetProofRequestStatusResponse(fulfillment_status=f, execution_status=e, deadline=deadline)
    if uri is not None:
        st.proof_uri = uri
    return st


def _client(profile, statuses, proof=PROOF):
    clock = FakeClock(now=NOW)
    t = FakeTransport({"GetProofRequestStatus": list(statuses)})
    http = FakeHttp()
    http.objects[PROOF_URI] = proof
    c = NetworkClient("http://x:1", None, profile, transport=t, http=http,
                      clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep, rng=lambda: 0.5)
    return c, t, clock


@pytest.mark.parametrize("profile", ["5.0", "5.2", "6.x"])
def test_wait_polls_every_2s_until_fulfilled(profile):
    c, t, clock = _client(profile, [
        _status(pb.REQUESTED, pb.UNEXECUTED), _status(pb.ASSIGNED), _status(pb.ASSIGNED),
        _status(pb.FULFILLED, uri=PROOF_URI)])
    assert c.wait_proof(RID) == PROOF
    assert clock.sleeps == [2.0, 2.0, 2.0]
    assert [pb.GetProofRequestStatusRequest.FromString(r).request_id for r in t.raw("GetProofRequestStatus")] == [RID] * 4


@pytest.mark.parametrize("profile,outcome", [("5.0", RequestTimedOut), ("5.2", RequestTimedOut), ("6.x", None)])
def test_fulfilled_after_deadline(profile, outcome):
    c, _, _ = _client(profile, [_status(pb.FULFILLED, deadline=NOW - 1, uri=PROOF_URI)])
    if outcome is None:
        assert c.wait_proof(RID) == PROOF
    else:
        with pytest.raises(outcome, match=f"Proof request 0x{RID.hex()} timed out"):
            c.wait_proof(RID)


@pytest.mark.parametrize("profile,outcome", [("5.0", RequestUnexecutable), ("6.x", None)])
def test_fulfilled_but_unexecutable(profile, outcome):
    c, _, _ = _client(profile, [_status(pb.FULFILLED, pb.UNEXECUTABLE, uri=PROOF_URI)])
    if outcome is None:
        assert c.wait_proof(RID) == PROOF
    else:
        with pytest.raises(outcome, match="is unexecutable"):
            c.wait_proof(RID)


@pytest.mark.parametrize("profile", ["5.0", "6.x"])
def test_unfulfillable_and_unexecutable_messages(profile):
    c, _, _ = _client(profile, [_status(pb.UNFULFILLABLE, pb.EXECUTED)])
    with pytest.raises(RequestUnfulfillable, match=f"^Proof request 0x{RID.hex()} is unfulfillable$"):
        c.wait_proof(RID)
    c, _, _ = _client(profile, [_status(pb.UNFULFILLABLE, pb.UNEXECUTABLE)])
    with pytest.raises(RequestUnexecutable):
        c.wait_proof(RID)


def test_lost_request_deadline_zero_differs_by_version():
    """Upstream hierophant's 'unknown request' answer (§8.2): UNFULFILLABLE, deadline 0."""
    st = _status(pb.UNFULFILLABLE, pb.UNSPECIFIED_EXECUTION_STATUS, deadline=0)
    with pytest.raises(RequestTimedOut):
        _client("5.0", [st])[0].wait_proof(RID)
    with pytest.raises(RequestUnfulfillable):
        _client("6.x", [st])[0].wait_proof(RID)


def test_pending_past_deadline_times_out_on_6x():
    c, _, clock = _client("6.x", [_status(pb.REQUESTED, pb.UNEXECUTED, deadline=NOW + 5)])
    with pytest.raises(RequestTimedOut):
        c.wait_proof(RID)
    assert clock.sleeps == [2.0, 2.0, 2.0]  # polls at 0, 2, 4 pending; 6 > deadline


def test_reverted_expired_only_on_6x():
    with pytest.raises(RequestReverted, match="failed during settlement"):
        _client("6.x", [_status(pb.REVERTED)])[0].wait_proof(RID)
    with pytest.raises(RequestExpired, match="expired before a proof was submitted"):
        _client("6.x", [_status(pb.EXPIRED)])[0].wait_proof(RID)
    with pytest.raises(ProtocolError, match="invalid fulfillment status 5"):
        _client("5.2", [_status(pb.REVERTED)])[0].wait_proof(RID)


def test_invalid_execution_status_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="invalid execution status 9"):
        _client("6.x", [_status(pb.REQUESTED, 9)])[0].wait_proof(RID)


def test_client_side_timeout():
    c, t, clock = _client("6.x", [_status(pb.ASSIGNED)])
    with pytest.raises(RequestTimedOut):
        c.wait_proof(RID, timeout=5)
    assert len(t.raw("GetProofRequestStatus")) == 3 and clock.mono == 6.0


def test_fulfilled_without_proof_uri():
    with pytest.raises(ProtocolError, match="No proof URI provided"):
        _client("6.x", [_status(pb.FULFILLED)])[0].wait_proof(RID)


def test_undecodable_proof_is_permanent():
    c, t, _ = _client("6.x", [_status(pb.FULFILLED, uri=PROOF_URI)], proof=b"\x09\x00\x00\x00junk")
    with pytest.raises(ProtocolError, match="Failed to deserialize proof"):
        c.wait_proof(RID)
    assert len(t.calls) == 1


def test_plonk_fixtures_match_spec_bytes():
    v6 = ("02000000" + "0100000000000000" "30" * 5 + "0000000000000000" * 2 + "00" * 32
          + "0000000000000000" + "0600000000000000" + b"v6.1.0".hex())
    assert PROOF.hex() == v6 and len(PROOF) == 119
    assert len(plonk_fixture("v5.0.0")) == 92


def test_get_proof_status_returns_message_without_download():
    c, _, _ = _client("6.x", [_status(pb.FULFILLED, uri=PROOF_URI)])
    st = c.get_proof_status("0x" + RID.hex())
    assert st.fulfillment_status == pb.FULFILLED and st.proof_uri == PROOF_URI
    with pytest.raises(ValueError, match="32 bytes"):
        c.get_proof_status(b"short")
