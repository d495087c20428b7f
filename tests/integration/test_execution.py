"""Execution alongside proving on the hierophant (DESIGN.md "Failure rules")."""
from __future__ import annotations

import hashlib

import pytest

from network_lib.client import NetworkClient
from network_lib.client.errors import RequestUnexecutable
from network_lib.mockproof import mock_proof
from network_lib.proto import network_pb2 as pb
from tests.integration.sp1data import elf, looping_elf, panicking_elf, public_values, stdin, vk, vk_hash
from tests.integration.test_contemplants import wait_status


def request(h, program: bytes, inputs: bytes, n: int = 1, **kw) -> bytes:
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(n), vk(), program)
        return c.request_proof(vk_hash(n), inputs, "core", **kw)


def details(h, rid) -> pb.ProofRequest:
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        return c.get_proof_request_details(rid)


@pytest.mark.parametrize("program,limit,cause", [
    (looping_elf, 100_000, pb.EXCEEDED_CYCLE_LIMIT),
    (elf, 5, pb.EXCEEDED_CYCLE_LIMIT),                 # 12 cycles needed
    (panicking_elf, 100_000, pb.HALT_WITH_NON_ZERO_EXIT_CODE),
])
def test_guest_failures_are_unexecutable_within_seconds(make_hierophant, program, limit, cause):
    h = make_hierophant()                                   # no workers at all
    rid = request(h, program(), stdin(1), cycle_limit=limit)
    final = wait_status(h, rid, pb.UNFULFILLABLE, timeout=20)
    assert final.execution_status == pb.UNEXECUTABLE
    assert details(h, rid).execute_fail_cause == cause
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        with pytest.raises(RequestUnexecutable):
            c.wait_proof(rid)


def test_a_good_program_shows_cycles_and_public_values_hash(make_hierophant):
    h = make_hierophant()
    rid = request(h, elf(), stdin(4242))
    from tests.integration.test_durability import wait_for
    status = wait_for(lambda: (s := details(h, rid)).execution_status == pb.EXECUTED and s,
                      what="execution to finish")
    assert status.cycles == 12 and status.fulfillment_status == pb.REQUESTED   # queued, executed
    expected = hashlib.sha256(public_values(4242)).digest()
    assert status.public_values_hash == expected
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        assert c.get_proof_status(rid).public_values_hash == expected


def test_execution_can_be_disabled(make_hierophant):
    h = make_hierophant(execution={"enabled": False})
    rid = request(h, panicking_elf(), stdin(1))
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        assert c.get_proof_status(rid).execution_status == pb.UNEXECUTED
    assert "executed" not in h.log() and "the program failed" not in h.log()


def test_programs_over_max_cycles_get_no_verdict(make_hierophant):
    h = make_hierophant(execution={"max_cycles": 50_000})
    rid = request(h, looping_elf(), stdin(1), cycle_limit=10**9)
    from tests.integration.test_durability import wait_for
    wait_for(lambda: "with no verdict" in h.log(), what="execution to stop at max_cycles")
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        s = c.get_proof_status(rid)
    assert (s.fulfillment_status, s.execution_status) == (pb.REQUESTED, pb.UNEXECUTED)


def test_mock_network_proofs_carry_the_real_public_values(make_hierophant, make_contemplant):
    h = make_hierophant()
    make_contemplant(h, delay_secs=0.5)
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        proof = c.prove(vk_hash(3), vk(), elf(), stdin(99), "plonk")
        rid = c.get_filtered_proof_requests()[0].request_id
    assert proof == mock_proof(3, "v6.1.0", vk_hash(3), public_values(99), vk())
    from tests.integration.test_durability import wait_for
    # Execution runs alongside proving: under load its verdict may land after the proof.
    entry = wait_for(lambda: (e := h.proof_history()[0])["cycles"] == 12 and e, what="the cycles in the history")
    assert entry["proof_request_id"] == "0x" + rid.hex()


def test_a_failing_guest_cancels_the_running_attempt(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, delay_secs=60)
    rid = request(h, panicking_elf(), stdin(1))     # dispatched at once, executed alongside
    final = wait_status(h, rid, pb.UNFULFILLABLE, timeout=20)
    assert final.execution_status == pb.UNEXECUTABLE
    from tests.integration.test_durability import wait_for
    wait_for(lambda: "cancelled by the hierophant" in c.log(), what="the attempt to be cancelled")
    assert c.listed()["status"] == "Idle"
