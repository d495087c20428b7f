"""Contemplants against a hierophant: real twistd processes, the mock backend, every fault."""
from __future__ import annotations

import signal

import pytest

from network_lib.client import NetworkClient
from network_lib.client.errors import RequestUnfulfillable, RequestUnexecutable
from network_lib import worker_protocol as wp
from network_lib.mockproof import mock_proof
from network_lib.proto import network_pb2 as pb
from tests.integration.sp1data import elf, public_values, stdin, vk, vk_hash
from tests.integration.test_durability import wait_for

MODES = {"core": 1, "compressed": 2, "plonk": 3, "groth16": 4}
FAST = {"heartbeat_interval_secs": 0.5, "heartbeat_timeout_secs": 2, "reattach_grace_secs": 5}


def client(h, profile="6.x"):
    return NetworkClient(h.rpc_url, unsigned=True, profile=profile)


def submit(h, n=1, mode="core", profile="6.x", program=1, **kw) -> list[bytes]:
    with client(h, profile) as c:
        c.register_program(vk_hash(program), vk(), elf())
        return [c.request_proof(vk_hash(program), stdin(program * 1000 + i), mode, **kw) for i in range(n)]


def status(h, rid) -> pb.GetProofRequestStatusResponse:
    with client(h) as c:
        return c.get_proof_status(rid)


def wait_status(h, rid, fulfillment, timeout=30.0):
    return wait_for(lambda: (s := status(h, rid)).fulfillment_status == fulfillment and s,
                    timeout=timeout, what=f"request 0x{rid.hex()[:8]} to be {pb.FulfillmentStatus.Name(fulfillment)}")


def history(h, rid) -> list[dict]:
    return [e for e in h.proof_history() if e["proof_request_id"] == "0x" + rid.hex()]


@pytest.mark.parametrize("profile,circuit", [("6.x", "v6.1.0"), ("5.0", "v5.0.0")])
@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_goes_requested_assigned_fulfilled(make_hierophant, make_contemplant, mode, profile, circuit):
    h = make_hierophant()
    make_contemplant(h, delay_secs=1.0)
    (rid,) = submit(h, mode=mode, profile=profile)
    seen = {status(h, rid).fulfillment_status}
    wait_for(lambda: seen.add(status(h, rid).fulfillment_status) or pb.FULFILLED in seen,
             what="the request to be fulfilled")
    assert pb.ASSIGNED in seen
    with client(h, profile) as c:
        proof = c.wait_proof(rid)
        assert c.get_proof_status(rid).execution_status == pb.EXECUTED
    # the SDK mock layout, carrying the program's real public values (it commits its input)
    assert proof == mock_proof(MODES[mode], circuit, vk_hash(1), public_values(1000), vk())


def test_more_requests_than_slots_are_queued_and_all_fulfilled(make_hierophant, make_contemplant):
    h = make_hierophant()
    make_contemplant(h, delay_secs=0.5, slots=2)
    rids = submit(h, n=7)
    statuses = [status(h, r).fulfillment_status for r in rids]
    assert statuses.count(pb.REQUESTED) >= 4 and statuses.count(pb.ASSIGNED) <= 2
    for rid in rids:
        wait_status(h, rid, pb.FULFILLED)
    assert sorted(len(history(h, r)) for r in rids) == [1] * 7


def test_killed_contemplant_job_goes_to_another_at_no_attempt_cost(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler={**FAST, "max_attempts": 1})
    slow = make_contemplant(h, "slow", delay_secs=120)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    make_contemplant(h, "fast", delay_secs=0.2)
    slow.kill9()
    wait_status(h, rid, pb.FULFILLED)
    records = history(h, rid)
    assert [r["outcome"] for r in records] == ["fulfilled", "lost"]
    assert records[0]["worker_name"] == "fast" and records[1]["worker_name"] == "slow"


def test_graceful_stop_drains_then_rejoins_with_the_same_worker_id(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler=FAST)
    c = make_contemplant(h, delay_secs=3)
    worker_id = c.worker_id
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    c.signal(signal.SIGTERM)
    assert c.wait_exit(30) == 0
    assert status(h, rid).fulfillment_status == pb.FULFILLED      # finished before exiting
    (second,) = submit(h, program=2)
    assert status(h, second).fulfillment_status == pb.REQUESTED
    c.start()
    assert c.worker_id == worker_id and c.listed()["connected"]
    wait_status(h, second, pb.FULFILLED)


def test_hierophant_kill9_mid_proof_resumes_without_a_second_run(make_hierophant, make_contemplant):
    # The grace must outlast the restart plus the contemplant's back-off on a loaded machine;
    # what is tested is the re-attachment, not the grace's length.
    # Nor is liveness: a contemplant stalled for 2 s on a loaded machine must not be declared
    # silent (FAST's timeout), which would also cost a second run.
    h = make_hierophant(scheduler={**FAST, "reattach_grace_secs": 30, "heartbeat_timeout_secs": 10})
    c = make_contemplant(h, delay_secs=4)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    h.kill9()
    h.start()
    wait_status(h, rid, pb.FULFILLED)
    records = history(h, rid)
    assert [(r["outcome"], r["attempt"]) for r in records] == [("fulfilled", 1)]
    assert c.log().count(f"job received: 0x{rid.hex()[:16]}") == 1     # proved once, re-attached


def test_frozen_contemplant_is_declared_gone_and_its_late_proof_refused(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler=FAST)
    frozen = make_contemplant(h, "frozen", delay_secs=4)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    # Freeze it mid-proof (inputs fetched, the backend reporting progress).
    wait_for(lambda: any(s["phase"] not in (None, "assigned") for s in frozen.listed()["slots"]),
             what="the frozen worker to start proving")
    frozen.signal(signal.SIGSTOP)
    wait_status(h, rid, pb.REQUESTED, timeout=20)       # heartbeat timeout: back to the queue
    make_contemplant(h, "rescuer", delay_secs=0.2)
    wait_status(h, rid, pb.FULFILLED)
    frozen.signal(signal.SIGCONT)
    # Whichever comes first after SIGCONT, the late attempt is refused: its proof PUT gets 409,
    # or its re-registration gets the job in `cancel`. Either way nothing of it is stored.
    wait_for(lambda: "no longer wants this attempt (409" in frozen.log() or "cancelled by the hierophant" in frozen.log(),
             timeout=30, what="the frozen worker's late result to be refused")
    records = history(h, rid)
    assert [(r["outcome"], r["worker_name"]) for r in records] == [("fulfilled", "rescuer"), ("lost", "frozen")]


def test_wrong_major_version_is_refused_and_never_listed(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, start=False)
    c.start(env={"CONTEMPLANT_PROTOCOL_VERSION": "2.0"}, wait=False)
    assert c.wait_exit(30) == 4
    assert "2.0" in c.log() and wp.PROTOCOL_VERSION in c.log()
    assert h.contemplants() == []


def test_wrong_token_is_refused_and_never_listed(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, start=False)
    c.cfg["worker_token"] = "not-the-token"
    c.start(wait=False)
    assert c.wait_exit(30) == 3
    assert "token" in c.log()
    assert h.contemplants() == []
    assert "wrong worker token" in h.log()


@pytest.mark.parametrize("fail", ["garbage", "wrong-mode"])
def test_bad_proofs_are_struck_retried_elsewhere_and_the_worker_dropped(make_hierophant, make_contemplant, fail):
    h = make_hierophant(scheduler={**FAST, "max_strikes": 2, "max_attempts": 5})
    bad = make_contemplant(h, "bad", fail=fail, delay_secs=0.1)
    (rid,) = submit(h, mode="plonk")
    assert bad.wait_exit(30) == 4                     # dropped at max_strikes: it exits
    assert [d["name"] for d in h.dead_contemplants()] == ["bad"]
    assert all(w["name"] != "bad" for w in h.contemplants())
    assert status(h, rid).fulfillment_status == pb.REQUESTED
    make_contemplant(h, "good")
    wait_status(h, rid, pb.FULFILLED)
    outcomes = [r["outcome"] for r in history(h, rid)]
    assert outcomes == ["fulfilled", "bad-proof", "bad-proof"]


@pytest.mark.parametrize("execution", [False, True])
def test_program_failures_end_unfulfillable_after_max_attempts(make_hierophant, make_contemplant, execution):
    h = make_hierophant(scheduler={**FAST, "max_attempts": 3}, execution={"enabled": execution})
    make_contemplant(h, "a", fail="program", delay_secs=0.1)
    make_contemplant(h, "b", fail="program", delay_secs=0.1)
    (rid,) = submit(h)
    final = wait_status(h, rid, pb.UNFULFILLABLE)
    assert [r["outcome"] for r in history(h, rid)] == ["program"] * 3
    with client(h) as c:
        if execution:
            # Our own execution ran the program fine: only it may declare UNEXECUTABLE (DESIGN.md).
            # Its verdict may land after the attempts were spent; it is recorded either way.
            final = wait_for(lambda: (s := status(h, rid)).execution_status == pb.EXECUTED and s,
                             what="our execution's verdict")
            assert final.fulfillment_status == pb.UNFULFILLABLE
            with pytest.raises(RequestUnfulfillable):
                c.wait_proof(rid)
        else:
            assert final.execution_status == pb.UNEXECUTABLE   # every attempt: the program failed
            with pytest.raises(RequestUnexecutable):
                c.wait_proof(rid)


def test_infrastructure_failures_end_after_max_infra_retries(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler={**FAST, "max_infra_retries": 2})
    make_contemplant(h, fail="infrastructure", delay_secs=0.1)
    (rid,) = submit(h)
    final = wait_status(h, rid, pb.UNFULFILLABLE)
    assert final.execution_status in (pb.UNEXECUTED, pb.EXECUTED)   # not the program's fault
    assert [r["outcome"] for r in history(h, rid)] == ["infrastructure"] * 3
    with client(h) as c:
        with pytest.raises(RequestUnfulfillable):
            c.wait_proof(rid)


def test_unservable_request_waits_with_a_warning(make_hierophant, make_contemplant):
    h = make_hierophant()
    make_contemplant(h, circuit_versions=["v5.0.0"])
    (rid,) = submit(h, profile="6.x")
    wait_for(lambda: "no connected worker serves CORE proofs for v6.1.0" in h.log(), what="the warning")
    assert status(h, rid).fulfillment_status == pb.REQUESTED


def test_contemplants_endpoint_shows_slots_and_progress(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, delay_secs=3, slots=2)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    me = wait_for(lambda: (w := c.listed()) and any(s["request_id"] for s in w["slots"]) and w)
    assert me["worker_id"] == c.worker_id and len(me["slots"]) == 2
    busy = next(s for s in me["slots"] if s["request_id"])
    assert busy["request_id"] == "0x" + rid.hex() and busy["proof_mode"] == "CORE"
    wait_for(lambda: any(s["phase"] not in (None, "assigned") for s in c.listed()["slots"]),
             what="progress to reach the hierophant")


def test_job_nobody_reclaims_after_a_restart_returns_to_the_queue(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler={**FAST, "reattach_grace_secs": 2})
    gone = make_contemplant(h, "gone", delay_secs=120)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    h.kill9()
    gone.kill9()                      # its worker never comes back
    h.start()
    assert status(h, rid).fulfillment_status == pb.ASSIGNED      # waiting for its worker
    make_contemplant(h, "new", delay_secs=0.2)
    wait_status(h, rid, pb.FULFILLED, timeout=30)
    records = history(h, rid)
    assert [(r["outcome"], r["worker_name"]) for r in records] == [("fulfilled", "new"), ("lost", "")]
    assert "no worker reclaimed it after the restart" in records[1]["detail"]
