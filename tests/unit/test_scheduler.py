"""The scheduler on a deterministic clock (`task.Clock`) and an in-memory store: queue order,
per-prover placement, liveness timers, reconnect grace, re-attachment, retry budgets, the
admin methods, and the commit-before-visible rule (a held-back write). No sleeps."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from twisted.internet import defer, task

from hierophant.artifacts import ArtifactFiles, ArtifactIndex
from hierophant.config import SchedulerConfig
from hierophant.history import History
from hierophant.model import Execution, Fulfillment, Program, ProofRequest
from hierophant.programs import Programs
from hierophant.requests import RequestBook
from hierophant.store import MemoryStore
from hierophant.workers.dead import DeadWorkers
from hierophant.workers.intake import CheckResult, ProofIntake
from hierophant.workers.scheduler import Refused, Scheduler
from network_lib import worker_protocol as wp
from network_lib.proto import network_pb2 as pb

VK_HASH = bytes(range(32))


class FakeConn:
    def __init__(self, peer: str = "tcp4:127.0.0.1:1") -> None:
        self.peer = peer
        self.sent: list[wp.Message] = []
        self.closed: tuple[int, str] | None = None

    def send(self, message: wp.Message) -> None:
        self.sent.append(message)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def jobs(self) -> list[wp.Job]:
        return [m for m in self.sent if isinstance(m, wp.Job)]

    def cancels(self) -> list[wp.Cancel]:
        return [m for m in self.sent if isinstance(m, wp.Cancel)]


class FakeChecker:
    """A ProofChecker whose verdict the test sets."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def check(self, request, path):
        return defer.succeed(CheckResult(self.problem, "structure"))


class FakeSpool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.wire_bytes = 5

    def finish(self):
        from hierophant.spool import SpoolResult
        self.path.write_bytes(b"proof")
        return defer.succeed(SpoolResult(self.path, 5, 5, b"\0" * 32, b"proof", False))


class World:
    def __init__(self, tmp_path: Path, **cfg) -> None:
        self.tmp = tmp_path
        self.clock = task.Clock()
        self.clock.advance(time.time())
        self.store = MemoryStore()
        self.book = RequestBook(self.store, [], lambda a: None, 60, clock=self.clock)
        self.artifacts = ArtifactIndex(self.store, ArtifactFiles(tmp_path / "artifacts"), [],
                                       reactor=_SyncThreads(self.clock))
        self.programs = Programs(self.store, [Program(VK_HASH, b"vk", "program_x", "program_x", b"", 0, 0)])
        self.history = History(self.store)
        self.scheduler = Scheduler(SchedulerConfig(**cfg), self.book, self.artifacts, self.programs,
                                   "http://hierophant", execution_enabled=False, history=self.history,
                                   dead=DeadWorkers(self.store), clock=self.clock)
        self.checker = FakeChecker()
        self.intake = ProofIntake(self.scheduler, self.artifacts, self.checker, reactor=_SyncThreads(self.clock))
        self.scheduler.startService()

    def request(self, deadline: int, mode: int = 1, circuit: str = "v6.1.0", n: int = 0) -> bytes:
        """A queued request due `deadline` seconds from now; returns its id."""
        t = int(self.clock.seconds())
        r = ProofRequest(
            request_id=bytes([n]) * 32, requester=b"", vk_hash=VK_HASH, version="sp1-" + circuit,
            circuit_version=circuit, mode=mode, strategy=1, stdin_uri=f"stdin_{n}", stdin_artifact=f"stdin_{n}",
            program_artifact="program_x", program_uri="program_x", deadline=t + deadline, cycle_limit=1000,
            gas_limit=0, min_auction_period=0, whitelist=(), stdin_private=False, nonce=0,
            tx_hash=bytes(32), created_at=t + n, updated_at=t)
        self.book.add(r)
        self.run()
        return r.request_id

    def worker(self, name: str, slots: int = 1, modes=(1, 2, 3, 4), circuits=("v6.1.0",), provers=None,
               jobs=()) -> FakeConn:
        conn = FakeConn()
        caps = {"modes": list(modes), "circuit_versions": list(circuits), "slots": slots}
        if provers is not None:
            caps["provers"] = provers
        self.scheduler.register(conn, wp.Register(protocol=wp.PROTOCOL_VERSION, worker_id=name, name=name,
                                                  capabilities=caps, jobs=list(jobs)))
        self.run()
        return conn

    def run(self, secs: float = 0) -> None:
        self.clock.advance(secs)

    def state(self, n: int) -> Fulfillment:
        return self.book.get(bytes([n]) * 32).fulfillment

    def fail(self, name: str, job: wp.Job, kind: str, message: str = "") -> None:
        self.scheduler.failed(self.scheduler.workers[name], wp.Failed(
            request_id=job.request_id, attempt=job.attempt, kind=kind, message=message))
        self.run()

    def prove(self, job: wp.Job):
        token = job.proof_upload_url.split("/")[-2]
        d = self.intake.accept(token, FakeSpool(self.tmp / f"proof-{token[:8]}"))
        self.run()
        return d

    def close(self) -> None:
        self.scheduler.stopService()


class _SyncThreads:
    """Enough of a reactor for ProofIntake: thread-pool calls run at once."""

    def __init__(self, clock) -> None:
        self.clock = clock

    def getThreadPool(self):
        return self

    def callInThreadWithCallback(self, on_result, f, *a, **kw):
        try:
            on_result(True, f(*a, **kw))
        except Exception:  # noqa: BLE001
            from twisted.python.failure import Failure
            on_result(False, Failure())

    def callFromThread(self, f, *a, **kw):
        f(*a, **kw)


@pytest.fixture
def world(tmp_path):
    worlds = []

    def make(**cfg) -> World:
        w = World(tmp_path, **cfg)
        worlds.append(w)
        return w
    yield make
    for w in worlds:
        w.close()


def rid_byte(job: wp.Job) -> int:
    return bytes.fromhex(job.request_id[2:])[0]


# -- the queue and placement ----------------------------------------------------------------
def test_earliest_deadline_first_then_arrival(world):
    w = world()
    for n, deadline in ((1, 3000), (2, 1000), (3, 2000), (4, 1000)):
        w.request(deadline, n=n)
    conn = w.worker("a", slots=4)
    assert [rid_byte(j) for j in conn.jobs()] == [2, 4, 3, 1]


def test_jobs_go_only_to_workers_that_serve_their_mode_and_circuit(world):
    w = world()
    w.request(1000, mode=3, circuit="v5.0.0", n=1)
    v6_only = w.worker("v6", circuits=("v6.1.0",))
    no_plonk = w.worker("core", modes=(1, 2), circuits=("v5.0.0",))
    assert v6_only.jobs() == [] and no_plonk.jobs() == []
    assert w.state(1) == Fulfillment.REQUESTED
    right = w.worker("right", modes=(3,), circuits=("v5.0.0",))
    assert [j.mode for j in right.jobs()] == [3]


def test_the_faster_worker_for_the_mode_is_preferred(world):
    w = world()
    slow, fast = w.worker("slow"), w.worker("fast")
    w.scheduler.workers["slow"].record_time(1, 50.0)
    w.scheduler.workers["fast"].record_time(1, 5.0)
    w.scheduler.workers["fast"].record_time(2, 90.0)     # slower at another mode: irrelevant
    w.request(1000, mode=1, n=1)
    assert len(fast.jobs()) == 1 and slow.jobs() == []
    job = fast.jobs()[0]
    assert job.elf_url.startswith("http://hierophant/jobs/") and job.attempt == 1


MIXED = [{"backend": "sp1-gpu", "modes": [1, 2, 3, 4], "circuit_versions": ["v6.1.0"], "slots": 1},
         {"backend": "moongate", "modes": [1, 2, 3, 4], "circuit_versions": ["v5.0.0"], "slots": 1}]


def test_each_prover_has_its_own_slots(world):
    """Issue 9 item 4: a v6 prover's busy slot is not a free slot for a second v6 job just
    because the v5 prover of the same contemplant is idle."""
    w = world()
    conn = w.worker("mixed", provers=MIXED, slots=2, circuits=("v5.0.0", "v6.1.0"))
    w.request(1000, circuit="v6.1.0", n=1)
    w.request(1000, circuit="v6.1.0", n=2)
    w.request(1000, circuit="v5.0.0", n=3)
    jobs = conn.jobs()
    assert [(rid_byte(j), j.prover) for j in jobs] == [(1, 0), (3, 1)]
    assert w.state(2) == Fulfillment.REQUESTED
    yield_ok = w.prove(jobs[0])
    assert yield_ok.result.code == 200 and w.state(1) == Fulfillment.FULFILLED
    assert [(rid_byte(j), j.prover) for j in conn.jobs()[2:]] == [(2, 0)]


def test_a_no_free_slot_refusal_never_removes_a_capability(world):
    w = world()
    conn = w.worker("mixed", provers=MIXED, slots=2, circuits=("v5.0.0", "v6.1.0"))
    w.request(1000, circuit="v6.1.0", n=1)
    w.fail("mixed", conn.jobs()[0], "unsupported", "no free slot")
    r = w.book.get(bytes([1]) * 32)
    assert (r.fulfillment, r.attempts, r.infra_retries) == (Fulfillment.REQUESTED, 0, 0)
    assert len(conn.jobs()) == 1          # the prover pauses a little ...
    w.run(3)
    assert len(conn.jobs()) == 2 and conn.jobs()[1].attempt == 2    # ... then serves v6.1.0 again
    assert w.scheduler.workers["mixed"].serves((1, "v6.1.0"))


def test_a_real_unsupported_refusal_removes_only_that_provers_key(world):
    w = world()
    conn = w.worker("a", modes=(1, 3))
    w.request(1000, mode=3, n=1)
    w.fail("a", conn.jobs()[0], "unsupported", "no plonk circuits here")
    w.run(3)
    assert len(conn.jobs()) == 1 and w.state(1) == Fulfillment.REQUESTED
    w.request(1000, mode=1, n=2)
    assert rid_byte(conn.jobs()[-1]) == 2


def test_an_old_worker_with_flat_capabilities_is_one_prover(world):
    w = world()
    conn = w.worker("old", slots=2)
    w.request(1000, n=1)
    w.request(1000, n=2)
    assert sorted(rid_byte(j) for j in conn.jobs()) == [1, 2]
    assert [p.slots for p in w.scheduler.workers["old"].provers] == [2]


# -- failure budgets ------------------------------------------------------------------------
def test_program_failures_spend_max_attempts_then_give_up(world):
    w = world(max_attempts=2)
    w.request(3600, n=1)
    conn = w.worker("a")
    for attempt in (1, 2):
        job = conn.jobs()[-1]
        assert job.attempt == attempt
        w.fail("a", job, "program", "panicked")
    r = w.book.get(bytes([1]) * 32)
    assert (r.fulfillment, r.execution, r.attempts) == (Fulfillment.UNFULFILLABLE, Execution.UNEXECUTABLE, 2)
    assert "2 attempts failed" in r.failure


def test_infrastructure_failures_spend_their_own_budget(world):
    w = world(max_infra_retries=1, max_attempts=1)
    w.request(3600, n=1)
    conn = w.worker("a")
    w.fail("a", conn.jobs()[-1], "infrastructure", "GPU fell off the bus")
    r = w.book.get(bytes([1]) * 32)
    assert (r.fulfillment, r.infra_retries, r.attempts) == (Fulfillment.ASSIGNED, 1, 0)
    w.fail("a", conn.jobs()[-1], "infrastructure", "again")
    r = w.book.get(bytes([1]) * 32)
    assert r.fulfillment == Fulfillment.UNFULFILLABLE and "2 infrastructure failures" in r.failure
    assert r.execution == Execution.UNEXECUTED


def test_a_released_job_is_requeued_at_once_with_nothing_spent(world):
    w = world()
    w.request(3600, n=1)
    a = w.worker("a")
    b = w.worker("b")
    first = (a.jobs() or b.jobs())[0]
    holder = "a" if a.jobs() else "b"
    other = b if holder == "a" else a
    w.fail(holder, first, "released", "drain timeout")
    r = w.book.get(bytes([1]) * 32)
    assert (r.attempts, r.infra_retries) == (0, 0)
    assert [j.attempt for j in other.jobs()] == [2]
    assert w.history.recent(1)[0].outcome == "released"


def test_a_stale_failure_report_is_ignored(world):
    w = world()
    w.request(3600, n=1)
    conn = w.worker("a")
    job = conn.jobs()[0]
    w.scheduler.failed(w.scheduler.workers["a"], wp.Failed(
        request_id=job.request_id, attempt=job.attempt + 1, kind="program"))
    w.run()
    r = w.book.get(bytes([1]) * 32)
    assert r.fulfillment == Fulfillment.ASSIGNED and r.attempts == 0


def test_a_bad_proof_costs_an_attempt_and_a_strike(world):
    w = world(max_strikes=1)
    w.request(3600, n=1)
    conn = w.worker("a")
    w.checker.problem = "wrong circuit version"
    d = w.prove(conn.jobs()[0])
    assert d.result.code == 422 and "wrong circuit version" in d.result.message
    r = w.book.get(bytes([1]) * 32)
    assert (r.fulfillment, r.attempts) == (Fulfillment.REQUESTED, 1)
    assert conn.closed[0] == wp.CLOSE_DROPPED and w.scheduler.dead.get("a") is not None


def test_major_version_and_dead_workers_are_refused(world):
    w = world(max_strikes=1)
    with pytest.raises(Refused) as e:
        w.scheduler.register(FakeConn(), wp.Register(protocol="2.0", worker_id="x", name="x"))
    assert e.value.code == wp.CLOSE_VERSION and "2.0" in e.value.reason and wp.PROTOCOL_VERSION in e.value.reason
    conn = w.worker("bad")
    w.scheduler.strike(w.scheduler.workers["bad"], "garbage")
    assert conn.closed[0] == wp.CLOSE_DROPPED and "bad" not in w.scheduler.workers
    with pytest.raises(Refused) as e:
        w.worker("bad")
    assert e.value.code == wp.CLOSE_DROPPED


# -- liveness -------------------------------------------------------------------------------
def test_a_dropped_socket_waits_reconnect_grace_then_requeues_for_free(world):
    w = world(reconnect_grace_secs=10, heartbeat_timeout_secs=45)
    w.request(3600, n=1)
    a = w.worker("a")
    job = a.jobs()[0]
    b = w.worker("b")
    w.scheduler.disconnected(w.scheduler.workers["a"], w.scheduler.workers["a"].conn, "connection lost")
    w.run(9.5)
    assert b.jobs() == [] and w.state(1) == Fulfillment.ASSIGNED
    w.run(1.0)
    r = w.book.get(bytes([1]) * 32)
    assert [j.attempt for j in b.jobs()] == [job.attempt + 1]
    assert (r.attempts, r.infra_retries, r.worker_id) == (0, 0, "b")


def test_a_silent_worker_gets_heartbeat_timeout(world):
    w = world(reconnect_grace_secs=10, heartbeat_timeout_secs=45)
    w.request(3600, n=1)
    a = w.worker("a")
    b = w.worker("b")
    w.run(30)
    w.scheduler.seen(w.scheduler.workers["b"])     # b heartbeats; a says nothing and keeps its socket
    w.run(14)
    assert b.jobs() == [] and a.closed is None
    w.run(2)                                      # found by the next tick after 45 s of silence
    assert a.closed[0] == wp.CLOSE_TIMEOUT and "a" not in w.scheduler.workers
    assert len(b.jobs()) == 1 and w.book.get(bytes([1]) * 32).attempts == 0


def test_a_worker_that_reattaches_in_time_keeps_its_job(world):
    w = world(reconnect_grace_secs=10)
    w.request(3600, n=1)
    a = w.worker("a")
    job = a.jobs()[0]
    w.scheduler.disconnected(w.scheduler.workers["a"], w.scheduler.workers["a"].conn, "connection lost")
    w.run(2)
    again = FakeConn()
    reply = w.scheduler.register(again, wp.Register(
        protocol="1.0", worker_id="a", name="a", capabilities={"modes": [1], "circuit_versions": ["v6.1.0"]},
        jobs=[{"request_id": job.request_id, "attempt": job.attempt}]))
    assert reply.resume == [{"request_id": job.request_id, "attempt": job.attempt}] and reply.cancel == []
    w.run(30)
    assert again.jobs() == [] and w.state(1) == Fulfillment.ASSIGNED
    assert w.prove(job).result.code == 200 and w.state(1) == Fulfillment.FULFILLED


def test_a_worker_back_without_its_job_loses_it_and_stale_jobs_are_cancelled(world):
    w = world()
    w.request(3600, n=1)
    a = w.worker("a")
    job = a.jobs()[0]
    w.scheduler.disconnected(w.scheduler.workers["a"], w.scheduler.workers["a"].conn, "lost")
    stale = {"request_id": "0x" + "ab" * 32, "attempt": 1}
    again = FakeConn()
    reply = w.scheduler.register(again, wp.Register(protocol=wp.PROTOCOL_VERSION, worker_id="a", name="a",
                                                    capabilities={"modes": [1], "circuit_versions": ["v6.1.0"]},
                                                    jobs=[stale]))
    w.run()
    assert reply.cancel == [stale] and reply.resume == []
    assert [j.attempt for j in again.jobs()] == [job.attempt + 1]


def test_after_a_restart_assigned_jobs_wait_reattach_grace(world, tmp_path):
    w = world(reattach_grace_secs=60)
    w.request(3600, n=1)
    a = w.worker("a")
    job = a.jobs()[0]
    # A second scheduler over the same committed records: the hierophant restarted.
    w.scheduler.stopService()
    s2 = Scheduler(SchedulerConfig(reattach_grace_secs=60, heartbeat_timeout_secs=1000), w.book, w.artifacts,
                   w.programs, "http://h",
                   execution_enabled=False, history=w.history, dead=DeadWorkers(w.store), clock=w.clock)
    s2.startService()
    try:
        b = FakeConn()
        s2.register(b, wp.Register(protocol=wp.PROTOCOL_VERSION, worker_id="b", name="b",
                                   capabilities={"modes": [1], "circuit_versions": ["v6.1.0"]}))
        w.run(59)
        assert b.jobs() == []
        w.run(2)
        assert [j.attempt for j in b.jobs()] == [job.attempt + 1]
    finally:
        s2.stopService()
        w.scheduler.startService()


def test_attempt_timeout_spends_an_infrastructure_retry(world):
    w = world(proof_timeout_mins=1, heartbeat_timeout_secs=1000)
    w.request(3600, n=1)
    conn = w.worker("a")
    w.run(61)
    assert conn.cancels() and w.book.get(bytes([1]) * 32).infra_retries == 1


# -- committed before visible ---------------------------------------------------------------
def test_a_held_back_write_is_not_visible(world):
    w = world()
    rid = w.request(3600, n=1)
    w.store.hold = True
    conn = w.worker("a")
    # The scheduler decided; the store has not committed: readers still see REQUESTED.
    assert w.book.get(rid).fulfillment == Fulfillment.REQUESTED
    assert w.book.latest(rid).fulfillment == Fulfillment.ASSIGNED
    status = pb.GetProofRequestStatusResponse.FromString(w.book.status_bytes[rid])
    assert status.fulfillment_status == Fulfillment.REQUESTED
    assert [r.fulfillment for r in w.book.all()] == [Fulfillment.REQUESTED]
    assert conn.jobs() == []                      # nor is the job sent before its commit
    w.store.release()
    assert w.book.get(rid).fulfillment == Fulfillment.ASSIGNED and len(conn.jobs()) == 1
    # FULFILLED likewise: the worker's 200 and every reader wait for the commit.
    w.store.hold = True
    d = w.prove(conn.jobs()[0])
    w.run()
    assert not d.called and w.book.get(rid).fulfillment == Fulfillment.ASSIGNED
    assert w.history.recent(10) == [] and w.artifacts.all() == []    # its records commit with it
    w.store.release()
    w.run()
    assert d.result.code == 200 and w.book.get(rid).fulfillment == Fulfillment.FULFILLED
    assert [h.outcome for h in w.history.recent(10)] == ["fulfilled"] and len(w.artifacts.all()) == 1
    status = pb.GetProofRequestStatusResponse.FromString(w.book.status_bytes[rid])
    assert status.fulfillment_status == Fulfillment.FULFILLED


def test_a_failed_write_leaves_the_old_value_and_is_logged(world, caplog):
    w = world()
    rid = w.request(3600, n=1)
    w.store.fail_next = OSError("disk full")
    conn = w.worker("a")
    assert w.book.get(rid).fulfillment == Fulfillment.REQUESTED
    assert w.book.latest(rid).fulfillment == Fulfillment.REQUESTED
    assert conn.jobs() == []
    assert any("disk full" in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)
    w.run(1)                                      # the tick places it again
    assert len(conn.jobs()) == 1 and w.book.get(rid).fulfillment == Fulfillment.ASSIGNED


# -- the admin API's methods ----------------------------------------------------------------
def test_cancel_gives_up_and_stops_the_attempt(world):
    w = world()
    rid = w.request(3600, n=1)
    conn = w.worker("a")
    w.scheduler.cancel(rid, "operator said so")
    w.run()
    r = w.book.get(rid)
    assert r.fulfillment == Fulfillment.UNFULFILLABLE and "operator said so" in r.failure
    assert [c.request_id for c in conn.cancels()] == [conn.jobs()[0].request_id]
    with pytest.raises(KeyError):
        w.scheduler.cancel(b"\x09" * 32)


def test_requeue_takes_a_job_back_without_spending_an_attempt(world):
    w = world()
    rid = w.request(3600, n=1)
    a = w.worker("a")
    w.scheduler.set_draining("a", True)
    w.scheduler.requeue(rid, "moving it")
    w.run()
    r = w.book.get(rid)
    assert a.cancels() and (r.fulfillment, r.attempts, r.infra_retries) == (Fulfillment.REQUESTED, 0, 0)
    w.scheduler.set_draining("a", False)
    assert [j.attempt for j in a.jobs()] == [1, 2]


def test_kick_requeues_at_once_and_the_worker_may_return(world):
    w = world()
    rid = w.request(3600, n=1)
    a = w.worker("a")
    w.scheduler.kick("a", "bad GPU")
    w.run()
    assert a.closed[0] == wp.CLOSE_KICKED and a.cancels()
    assert w.book.get(rid).fulfillment == Fulfillment.REQUESTED and w.book.get(rid).attempts == 0
    b = w.worker("a")
    assert [j.attempt for j in b.jobs()] == [2]
