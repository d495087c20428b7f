"""The scheduler's choices, with fake worker connections and a real (temporary) store:
earliest deadline first, capability matching, the faster worker, failure budgets."""
from __future__ import annotations

import pytest_twisted
from twisted.internet import defer, reactor

from hierophant.artifacts import ArtifactFiles, ArtifactIndex
from hierophant.config import SchedulerConfig
from hierophant.db import Database
from hierophant.model import Execution, Fulfillment, Program, ProofRequest, now
from hierophant.programs import Programs
from hierophant.requests import RequestBook
from hierophant.workers.scheduler import Scheduler
from network_lib import worker_protocol as wp

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


class World:
    def __init__(self, tmp_path, **cfg) -> None:
        self.db = Database(tmp_path / "db.sqlite3")
        self.db.start()
        self.book = RequestBook(self.db, [], lambda a: None, 60)
        self.artifacts = ArtifactIndex(self.db, ArtifactFiles(tmp_path / "artifacts"), [])
        self.programs = Programs(self.db, [Program(VK_HASH, b"vk", "program_x", "program_x", b"", 0, 0)])
        self.scheduler = Scheduler(SchedulerConfig(**cfg), self.book, self.artifacts, self.programs,
                                   self.db, "http://hierophant", execution_enabled=False)

    def request(self, deadline: int, mode: int = 1, circuit: str = "v6.1.0", n: int = 0) -> defer.Deferred:
        """A queued request due `deadline` seconds from now."""
        t = now()
        deadline += t
        r = ProofRequest(
            request_id=bytes([n]) * 32, requester=b"", vk_hash=VK_HASH, version="sp1-" + circuit,
            circuit_version=circuit, mode=mode, strategy=1, stdin_uri=f"stdin_{n}", stdin_artifact=f"stdin_{n}",
            program_artifact="program_x", program_uri="program_x", deadline=deadline, cycle_limit=1000,
            gas_limit=0, min_auction_period=0, whitelist=[], stdin_private=False, nonce=0,
            tx_hash=bytes(32), created_at=t, updated_at=t)
        return self.book.add(r)

    def worker(self, name: str, slots: int = 1, modes=(1, 2, 3, 4), circuits=("v6.1.0",)) -> FakeConn:
        conn = FakeConn()
        self.scheduler.register(conn, wp.Register(
            protocol=wp.PROTOCOL_VERSION, worker_id=name, name=name,
            capabilities={"modes": list(modes), "circuit_versions": list(circuits), "slots": slots}))
        return conn

    def close(self) -> None:
        self.scheduler.stop()
        self.db.stop()


def settle() -> defer.Deferred:
    """Let queued store writes (a writer thread) and the reactor's calls run."""
    return deferLater(0.05)


def deferLater(secs: float) -> defer.Deferred:
    from twisted.internet import task
    return task.deferLater(reactor, secs, lambda: None)


@pytest_twisted.inlineCallbacks
def test_earliest_deadline_first_then_arrival(tmp_path):
    w = World(tmp_path)
    try:
        for n, deadline in ((1, 3000), (2, 1000), (3, 2000), (4, 1000)):
            yield w.request(deadline, n=n)
        conn = w.worker("a", slots=4)
        yield settle()
        order = [bytes.fromhex(j.request_id[2:])[0] for j in conn.jobs()]
        assert order == [2, 4, 3, 1]
    finally:
        w.close()


@pytest_twisted.inlineCallbacks
def test_jobs_go_only_to_workers_that_serve_their_mode_and_circuit(tmp_path):
    w = World(tmp_path)
    try:
        yield w.request(1000, mode=3, circuit="v5.0.0", n=1)
        v6_only = w.worker("v6", circuits=("v6.1.0",))
        no_plonk = w.worker("core", modes=(1, 2), circuits=("v5.0.0",))
        yield settle()
        assert v6_only.jobs() == [] and no_plonk.jobs() == []
        assert w.book.get(bytes([1]) * 32).fulfillment == Fulfillment.REQUESTED
        right = w.worker("right", modes=(3,), circuits=("v5.0.0",))
        yield settle()
        assert [j.mode for j in right.jobs()] == [3]
    finally:
        w.close()


@pytest_twisted.inlineCallbacks
def test_the_faster_worker_for_the_mode_is_preferred(tmp_path):
    w = World(tmp_path)
    try:
        slow, fast = w.worker("slow"), w.worker("fast")
        w.scheduler.workers["slow"].record_time(1, 50.0)
        w.scheduler.workers["fast"].record_time(1, 5.0)
        w.scheduler.workers["fast"].record_time(2, 90.0)     # slower at another mode: irrelevant
        yield w.request(1000, mode=1, n=1)
        yield settle()
        assert len(fast.jobs()) == 1 and slow.jobs() == []
        job = fast.jobs()[0]
        assert job.elf_url.startswith("http://hierophant/jobs/") and job.attempt == 1
    finally:
        w.close()


@pytest_twisted.inlineCallbacks
def test_program_failures_spend_max_attempts_then_give_up(tmp_path):
    w = World(tmp_path, max_attempts=2)
    try:
        yield w.request(3600, n=1)
        conn = w.worker("a")
        for attempt in (1, 2):
            yield settle()
            job = conn.jobs()[-1]
            assert job.attempt == attempt
            w.scheduler.failed(w.scheduler.workers["a"], wp.Failed(
                request_id=job.request_id, attempt=attempt, kind="program", message="panicked"))
        yield settle()
        r = w.book.get(bytes([1]) * 32)
        assert (r.fulfillment, r.execution, r.attempts) == (Fulfillment.UNFULFILLABLE, Execution.UNEXECUTABLE, 2)
        assert "2 attempts failed" in r.failure
    finally:
        w.close()


@pytest_twisted.inlineCallbacks
def test_a_stale_failure_report_is_ignored(tmp_path):
    w = World(tmp_path)
    try:
        yield w.request(3600, n=1)
        conn = w.worker("a")
        yield settle()
        job = conn.jobs()[0]
        w.scheduler.failed(w.scheduler.workers["a"], wp.Failed(
            request_id=job.request_id, attempt=job.attempt + 1, kind="program"))
        yield settle()
        r = w.book.get(bytes([1]) * 32)
        assert r.fulfillment == Fulfillment.ASSIGNED and r.attempts == 0
    finally:
        w.close()


@pytest_twisted.inlineCallbacks
def test_major_version_and_dead_workers_are_refused(tmp_path):
    from hierophant.workers.scheduler import Refused
    w = World(tmp_path, max_strikes=1)
    try:
        try:
            w.scheduler.register(FakeConn(), wp.Register(protocol="2.0", worker_id="x", name="x"))
            raise AssertionError("MAJOR 2 accepted")
        except Refused as e:
            assert e.code == wp.CLOSE_VERSION and "2.0" in e.reason and wp.PROTOCOL_VERSION in e.reason
        conn = w.worker("bad")
        w.scheduler.strike(w.scheduler.workers["bad"], "garbage")
        assert conn.closed[0] == wp.CLOSE_DROPPED and "bad" not in w.scheduler.workers
        try:
            w.worker("bad")
            raise AssertionError("a dropped worker came back")
        except Refused as e:
            assert e.code == wp.CLOSE_DROPPED
        yield settle()
    finally:
        w.close()
