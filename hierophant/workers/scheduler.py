"""The scheduler: a durable queue, worker liveness, assignment, retries (on the reactor).

The queue is the set of REQUESTED requests in the request book (so it is as durable as the
book), ordered earliest deadline first, then arrival. Assignment is event-driven: a new
request, a worker registering, a slot freeing. Status polls only read. Failure rules are
DESIGN.md's: a worker's death costs no attempt; `program` failures and bad proofs cost
`max_attempts`; infrastructure failures and timeouts cost `max_infra_retries`.
"""
from __future__ import annotations

import base64
import heapq
import logging
import secrets
import time
from collections import deque
from pathlib import Path

from twisted.internet import defer, task, threads

from hierophant.artifacts import ArtifactIndex
from hierophant.config import SchedulerConfig
from hierophant.db import Database
from hierophant.metrics import HierophantMetrics
from hierophant.model import ArtifactKind, DeadWorker, Fulfillment, ProofRecord, ProofRequest, new_token
from hierophant.programs import Programs
from hierophant.requests import RequestBook
from hierophant.uploads import Outcome
from hierophant.web.spool import Spool, SpoolError
from hierophant.workers.acceptance import check_proof_file
from hierophant.workers.registry import Assignment, Connection, Worker
from network_lib import versions
from network_lib import worker_protocol as wp

log = logging.getLogger("hierophant.scheduler")

HISTORY_IN_MEMORY = 10_000
LATENCIES_KEPT = 10_000


class Refused(Exception):
    """A registration the hierophant will not accept: close with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _rid(request_id: bytes) -> str:
    return "0x" + request_id.hex()


def _parse_rid(text: str) -> bytes | None:
    try:
        raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    except (ValueError, AttributeError):
        return None
    return raw if len(raw) == 32 else None


class Scheduler:
    def __init__(self, cfg: SchedulerConfig, book: RequestBook, artifacts: ArtifactIndex,
                 programs: Programs, db: Database, public_base: str, execution_enabled: bool,
                 history: list[ProofRecord] = (), dead: list[DeadWorker] = (), clock=None,
                 metrics: HierophantMetrics | None = None) -> None:
        from twisted.internet import reactor
        self.cfg = cfg
        self.book, self.artifacts, self.programs, self.db = book, artifacts, programs, db
        self.public_base = public_base
        self.execution_enabled = execution_enabled
        self.clock = clock or reactor
        self.metrics = metrics or HierophantMetrics()
        self.workers: dict[str, Worker] = {}
        self._free: dict[str, Worker] = {}        # exactly the workers with a free slot
        self.dead: dict[str, DeadWorker] = {d.worker_id: d for d in dead}
        self.history: deque[ProofRecord] = deque(sorted(history, key=lambda h: h.finished_at)[-HISTORY_IN_MEMORY:],
                                                 maxlen=HISTORY_IN_MEMORY)
        self.latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)   # slot free -> job sent
        self._queues: dict[tuple[int, str], list] = {}
        self._by_token: dict[str, ProofRequest] = {}
        self._accepting: set[str] = set()
        self._orphans: dict[bytes, float] = {}       # assigned before a restart -> grace end
        self._warned: dict[tuple[int, str], float] = {}
        self._dispatching = self._again = False
        # (worker_id, mode, seconds, cycles or None) of each accepted proof: the ETA rates learn
        self.on_proven: list = []
        self._ticker = task.LoopingCall(self._tick)
        self._ticker.clock = self.clock
        self._load()
        book.on_new.append(self._enqueue)
        book.on_terminal.append(self._on_terminal)

    # -- start-up ---------------------------------------------------------------------
    def _load(self) -> None:
        grace_end = self.clock.seconds() + self.cfg.reattach_grace_secs
        for r in self.book.live():
            if r.fulfillment == Fulfillment.ASSIGNED and r.job_token:
                self._by_token[r.job_token] = r
                self._orphans[r.request_id] = grace_end
            else:
                self._push(r)
        if self._orphans:
            log.info("%d assigned jobs wait %ss for their workers to reconnect",
                     len(self._orphans), self.cfg.reattach_grace_secs)

    def start(self) -> None:
        interval = max(0.05, min(1.0, self.cfg.heartbeat_timeout_secs / 5))
        self._ticker.start(interval, now=False)

    def stop(self) -> None:
        if self._ticker.running:
            self._ticker.stop()

    # -- the queue --------------------------------------------------------------------
    def _push(self, r: ProofRequest) -> None:
        key = (r.mode, r.circuit_version)
        heapq.heappush(self._queues.setdefault(key, []), (r.deadline, r.created_at, r.request_id))

    def _enqueue(self, r: ProofRequest) -> None:
        self._push(r)
        self._warn_if_unservable(r)
        self.dispatch()

    def _head(self, key: tuple[int, str]) -> ProofRequest | None:
        heap = self._queues.get(key)
        while heap:
            r = self.book.get(heap[0][2])
            if r is not None and r.fulfillment == Fulfillment.REQUESTED and not r.terminal:
                return r
            heapq.heappop(heap)        # stale entry: assigned, finished or forgotten
        return None

    def _warn_if_unservable(self, r: ProofRequest) -> None:
        key = (r.mode, r.circuit_version)
        if any(w.connected and w.serves(*key) for w in self.workers.values()):
            return
        now = self.clock.seconds()
        if now - self._warned.get(key, -1e9) < 60:
            return
        self._warned[key] = now
        connected = [w for w in self.workers.values() if w.connected]
        log.warning("request %s waits: no connected worker serves %s proofs for %s (%d workers connected%s)",
                    _rid(r.request_id), versions.ProofMode(r.mode).name, r.circuit_version, len(connected),
                    "" if not connected else ": " + "; ".join(
                        f"{w.name} serves {sorted(versions.ProofMode(m).name for m in w.modes if m in (1, 2, 3, 4))}"
                        f" for {sorted(w.circuit_versions)}" for w in connected[:5]))

    # -- dispatch ---------------------------------------------------------------------
    def dispatch(self) -> None:
        """Fill free slots, earliest deadline first, each with the fastest capable worker."""
        if self._dispatching:
            self._again = True
            return
        self._dispatching = True
        try:
            self._again = True
            while self._again:
                self._again = False
                while self._assign_one():
                    pass
        finally:
            self._dispatching = False

    def _touch(self, w: Worker) -> None:
        """Keep the free-slot index true after any change to a worker's jobs or state."""
        if w.free_slots() > 0 and self.workers.get(w.worker_id) is w:
            self._free[w.worker_id] = w
        else:
            self._free.pop(w.worker_id, None)

    def _assign_one(self) -> bool:
        free = list(self._free.values())
        if not free:
            return False
        best = None
        for key in list(self._queues):
            head = self._head(key)
            if head is None:
                continue
            servers = [w for w in free if w.serves(*key)]
            if servers and (best is None or (head.deadline, head.created_at) < (best[0].deadline, best[0].created_at)):
                best = (head, servers)
        if best is None:
            return False
        r, servers = best
        heapq.heappop(self._queues[(r.mode, r.circuit_version)])
        self._assign(min(servers, key=lambda w: w.speed_key(r.mode)), r)
        return True

    def _assign(self, w: Worker, r: ProofRequest) -> None:
        now = self.clock.seconds()
        token = new_token()
        attempt = r.attempt + 1
        w.jobs[r.request_id] = Assignment(r.request_id, attempt, r.mode, now, last_progress=now)
        w.last_assigned = now
        self._touch(w)
        self._by_token[token] = r
        d = self.book.update(r, fulfillment=Fulfillment.ASSIGNED, attempt=attempt, worker_id=w.worker_id,
                             job_token=token, assigned_at=now)
        d.addCallback(lambda _: self._send_job(w, r, token))
        d.addErrback(lambda f: log.error("could not record the assignment of %s: %s",
                                         _rid(r.request_id), f.getErrorMessage()))

    def _send_job(self, w: Worker, r: ProofRequest, token: str) -> None:
        if r.job_token != token or w.conn is None:
            return      # superseded meanwhile, or the worker left: liveness rules take over
        program = self.programs.get(r.vk_hash)
        base = f"{self.public_base}/jobs/{token}"
        w.conn.send(wp.Job(
            request_id=_rid(r.request_id), attempt=r.attempt, mode=r.mode, circuit_version=r.circuit_version,
            vk_hash="0x" + r.vk_hash.hex(), vk=base64.b64encode(program.vk if program else b"").decode(),
            elf_url=f"{base}/elf", stdin_url=f"{base}/stdin", proof_upload_url=f"{base}/proof",
            deadline=r.deadline, cycle_limit=r.cycle_limit, nonce=[0, 0, 0, 0], total_cycles=r.cycles))
        self.metrics.attempt_started(versions.ProofMode(r.mode).name)
        if w.freed_at is not None:
            self.latencies.append(self.clock.seconds() - w.freed_at)
            w.freed_at = None
        log.info("request %s attempt %d (%s %s) -> %s", _rid(r.request_id), r.attempt,
                 versions.ProofMode(r.mode).name, r.circuit_version, w.name)

    # -- taking jobs back ---------------------------------------------------------------
    def _release(self, r: ProofRequest) -> Worker | None:
        """Detach the current attempt from its worker (its token stops working)."""
        if r.job_token:
            self._by_token.pop(r.job_token, None)
        self._orphans.pop(r.request_id, None)
        w = self.workers.get(r.worker_id) if r.worker_id else None
        if w is not None and w.jobs.pop(r.request_id, None) is not None:
            w.freed_at = self.clock.seconds()
            self._touch(w)
        return w

    def requeue(self, r: ProofRequest, why: str, cost: str | None = None, cancel: bool = False,
                detail: str = "") -> defer.Deferred:
        """Back to the queue under the same id; `cost` is "attempt" or "infra" (or None)."""
        w = self._release(r)
        self._record(r, w, why, detail)
        self.metrics.requeued(why)
        if cancel and w is not None and w.conn is not None:
            w.conn.send(wp.Cancel(request_id=_rid(r.request_id), attempt=r.attempt, reason=why))
        if cost == "attempt":
            r.attempts += 1
            if why == "program":
                r.extra["program_failures"] = r.extra.get("program_failures", 0) + 1
            if r.attempts >= self.cfg.max_attempts:
                return self._give_up(r, f"{r.attempts} attempts failed (last: {why}{': ' + detail if detail else ''})")
        elif cost == "infra":
            r.infra_retries += 1
            if r.infra_retries > self.cfg.max_infra_retries:
                return self._give_up(r, f"{r.infra_retries} infrastructure failures (last: {why}"
                                        f"{': ' + detail if detail else ''})")
        log.info("request %s back to the queue: %s%s", _rid(r.request_id), why, f" ({detail})" if detail else "")
        d = self.book.update(r, fulfillment=Fulfillment.REQUESTED, worker_id=None, job_token=None,
                             assigned_at=None, attempts=r.attempts, infra_retries=r.infra_retries)
        d.addCallback(lambda _: (self._push(r), self.dispatch()))
        return d

    def _give_up(self, r: ProofRequest, reason: str) -> defer.Deferred:
        # Without our own execution, a program that failed on every attempt is UNEXECUTABLE.
        all_program = r.extra.get("program_failures", 0) >= r.attempts > 0
        unexecutable = all_program and not self.execution_enabled
        r.worker_id, r.job_token, r.assigned_at = None, None, None
        d = self.book.give_up(r, reason, unexecutable=unexecutable)
        d.addCallback(lambda _: self.dispatch())
        return d

    def _on_terminal(self, r: ProofRequest) -> None:
        """A request ended (deadline, fulfilled): stop any attempt still running."""
        if r.fulfillment == Fulfillment.FULFILLED:
            return
        w = self._release(r)
        if w is not None and w.conn is not None:
            w.conn.send(wp.Cancel(request_id=_rid(r.request_id), attempt=r.attempt, reason=r.failure))
        self.dispatch()

    def _record(self, r: ProofRequest, w: Worker | None, outcome: str, detail: str = "") -> None:
        started = r.assigned_at or self.clock.seconds()
        rec = ProofRecord(id=secrets.token_hex(12), request_id=r.request_id, attempt=r.attempt, mode=r.mode,
                          circuit_version=r.circuit_version, worker_id=r.worker_id or "",
                          worker_name=w.name if w else "", started_at=started,
                          finished_at=self.clock.seconds(), outcome=outcome, detail=detail[:500])
        self.history.append(rec)
        self.metrics.attempt_finished(versions.ProofMode(r.mode).name, outcome, rec.finished_at - rec.started_at)
        self.db.write(put=[rec]).addErrback(lambda f: log.error("proof history write failed: %s", f.getErrorMessage()))

    # -- worker events (from the socket) ----------------------------------------------------
    def register(self, conn: Connection, msg: wp.Register) -> wp.Registered:
        if wp.major(msg.protocol) != wp.major(wp.PROTOCOL_VERSION):
            raise Refused(wp.CLOSE_VERSION, f"protocol {msg.protocol} is incompatible with this hierophant's "
                                            f"{wp.PROTOCOL_VERSION} (MAJOR differs)")
        if msg.worker_id in self.dead:
            d = self.dead[msg.worker_id]
            raise Refused(wp.CLOSE_DROPPED, f"worker {msg.worker_id} was dropped after {d.strikes} strikes: {d.reason}")
        now = self.clock.seconds()
        w = self.workers.get(msg.worker_id)
        if w is None:
            w = self.workers[msg.worker_id] = Worker(worker_id=msg.worker_id, name=msg.name)
        elif w.conn is not None and w.conn is not conn:
            w.conn.close(wp.CLOSE_REPLACED, "another connection registered this worker_id")
        w.update_from_register(msg, conn.peer)
        w.conn, w.connected_at, w.last_seen = conn, now, now
        resume, cancel = self._reattach(w, msg.jobs)
        self._touch(w)
        log.info("worker %s (%s) registered from %s: %d slots, modes %s, circuits %s%s", w.name, w.worker_id,
                 conn.peer, w.slots, sorted(w.modes), sorted(w.circuit_versions),
                 f", resumed {len(resume)} jobs" if resume else "")
        self._warned.clear()
        self.clock.callLater(0, self.dispatch)
        return wp.Registered(protocol=wp.PROTOCOL_VERSION, worker_id=w.worker_id,
                             heartbeat_interval_secs=self.cfg.heartbeat_interval_secs,
                             resume=resume, cancel=cancel)

    def _reattach(self, w: Worker, listed: list) -> tuple[list, list]:
        """Keep the jobs this worker still runs; take back those it lost."""
        resume, cancel, claimed = [], [], set()
        for job in listed if isinstance(listed, list) else []:
            rid = _parse_rid(job.get("request_id", "")) if isinstance(job, dict) else None
            attempt = job.get("attempt") if isinstance(job, dict) else None
            r = self.book.get(rid) if rid else None
            if (r is not None and r.fulfillment == Fulfillment.ASSIGNED and r.worker_id == w.worker_id
                    and r.attempt == attempt):
                claimed.add(rid)
                self._orphans.pop(rid, None)
                if rid not in w.jobs:
                    w.jobs[rid] = Assignment(rid, r.attempt, r.mode, r.assigned_at or self.clock.seconds(),
                                             last_progress=self.clock.seconds())
                resume.append({"request_id": _rid(rid), "attempt": attempt})
            elif isinstance(job, dict):
                cancel.append({"request_id": job.get("request_id"), "attempt": attempt})
        held = set(w.jobs) | {rid for rid in self._orphans
                              if (o := self.book.get(rid)) is not None and o.worker_id == w.worker_id}
        for rid in held - claimed:
            r = self.book.get(rid)
            if r is not None and r.fulfillment == Fulfillment.ASSIGNED and r.worker_id == w.worker_id:
                self.requeue(r, "lost", detail=f"{w.name} reconnected without it")
        return resume, cancel

    def seen(self, w: Worker) -> None:
        w.last_seen = self.clock.seconds()

    def heartbeat(self, w: Worker, msg: wp.Heartbeat) -> None:
        if msg.hardware:
            w.hardware = msg.hardware

    def progress(self, w: Worker, msg: wp.Progress) -> None:
        a = self._current(w, msg.request_id, msg.attempt)
        if a is None:
            return
        a.phase, a.last_progress = msg.phase or a.phase, self.clock.seconds()
        if msg.percent is not None:
            a.percent = max(0.0, min(100.0, float(msg.percent)))
        if msg.cycles is not None:
            a.cycles = msg.cycles

    def failed(self, w: Worker, msg: wp.Failed) -> None:
        r = self._current_request(w, msg.request_id, msg.attempt)
        if r is None:
            log.info("ignoring a failure of %s attempt %s from %s: not its current attempt",
                     msg.request_id, msg.attempt, w.name)
            return
        log.warning("request %s attempt %d failed on %s (%s): %s", msg.request_id, msg.attempt, w.name,
                    msg.kind, msg.message)
        if msg.kind == "program":
            self.requeue(r, "program", cost="attempt", detail=msg.message)
        elif msg.kind == "unsupported":
            w.unsupported.add((r.mode, r.circuit_version))
            self.requeue(r, "unsupported", detail=msg.message)
        elif msg.kind == wp.RELEASED:     # a stopping worker gave it back untried: no cost
            self.requeue(r, wp.RELEASED, detail=msg.message)
        else:
            self.requeue(r, "infrastructure", cost="infra", detail=msg.message)

    def executed(self, r: ProofRequest) -> None:
        """Our execution finished: the worker proving it learns the cycle count."""
        w = self.workers.get(r.worker_id) if r.fulfillment == Fulfillment.ASSIGNED and r.worker_id else None
        if w is not None and w.conn is not None and r.cycles is not None:
            w.conn.send(wp.JobUpdate(request_id=_rid(r.request_id), attempt=r.attempt, total_cycles=r.cycles))

    def draining(self, w: Worker) -> None:
        w.draining = True
        self._touch(w)
        log.info("worker %s is draining: no new jobs", w.name)

    # -- operator actions (hierophant-admin, through hierophant/admin/) -----------------------
    def cancel(self, r: ProofRequest, reason: str) -> defer.Deferred:
        """End the request UNFULFILLABLE with `reason`; a running attempt is cancelled on its
        worker and its slot freed (by `_on_terminal`)."""
        if r.fulfillment == Fulfillment.ASSIGNED:
            self._record(r, self.workers.get(r.worker_id or ""), "cancelled", reason)
        return self.book.give_up(r, reason)

    def set_draining(self, w: Worker, on: bool) -> None:
        """An operator's drain: no new jobs (running ones finish); kept across reconnects."""
        w.drained = on
        self._touch(w)
        log.info("worker %s %s by an operator", w.name, "drained" if on else "undrained")
        if not on:
            self.dispatch()

    def kick(self, w: Worker, reason: str = "kicked by an operator") -> None:
        """Disconnect the worker; its jobs go back to the queue at once, at no attempt's cost."""
        for rid in list(w.jobs):
            r = self.book.get(rid)
            if r is not None and r.fulfillment == Fulfillment.ASSIGNED and r.worker_id == w.worker_id:
                self.requeue(r, "kicked", cancel=True, detail=f"worker {w.name} {reason}")
        conn, w.conn = w.conn, None
        if conn is not None:
            conn.close(wp.CLOSE_KICKED, reason)
        self._forget(w, reason)

    def disconnected(self, w: Worker, conn: Connection, why: str) -> None:
        if w.conn is not conn:
            return
        w.conn = None
        self._touch(w)
        log.info("worker %s disconnected (%s); its %d jobs wait %ss for it to come back",
                 w.name, why, len(w.jobs), self.cfg.heartbeat_timeout_secs)

    def _current(self, w: Worker, request_id: str, attempt: int) -> Assignment | None:
        rid = _parse_rid(request_id)
        a = w.jobs.get(rid) if rid else None
        return a if a is not None and a.attempt == attempt else None

    def _current_request(self, w: Worker, request_id: str, attempt: int) -> ProofRequest | None:
        if self._current(w, request_id, attempt) is None:
            return None
        r = self.book.get(_parse_rid(request_id))
        if r is None or r.fulfillment != Fulfillment.ASSIGNED or r.worker_id != w.worker_id:
            return None
        return r

    # -- timers -----------------------------------------------------------------------------
    def _tick(self) -> None:
        now = self.clock.seconds()
        timeout = self.cfg.heartbeat_timeout_secs
        for w in list(self.workers.values()):
            if now - w.last_seen <= timeout:
                continue
            if w.conn is not None:
                log.warning("worker %s sent nothing for %.0fs: declared gone", w.name, now - w.last_seen)
                conn, w.conn = w.conn, None
                self._touch(w)
                conn.close(wp.CLOSE_TIMEOUT, f"no heartbeat for {timeout:g}s")
            self._forget(w, "gone")
        for rid, end in list(self._orphans.items()):
            r = self.book.get(rid)
            if r is None or r.fulfillment != Fulfillment.ASSIGNED:
                self._orphans.pop(rid, None)
            elif now >= end:
                self.requeue(r, "lost", detail="no worker reclaimed it after the restart")
        self._check_attempt_timeouts(now)

    def _forget(self, w: Worker, why: str) -> None:
        """The worker is gone for good: its jobs go back to the queue, at no attempt's cost."""
        for rid in list(w.jobs):
            r = self.book.get(rid)
            if r is not None and r.fulfillment == Fulfillment.ASSIGNED and r.worker_id == w.worker_id:
                self.requeue(r, "lost", detail=f"worker {w.name} {why}")
        del self.workers[w.worker_id]
        self._touch(w)

    def _check_attempt_timeouts(self, now: float) -> None:
        proof_limit = self.cfg.proof_timeout_mins * 60
        progress_limit = self.cfg.progress_timeout_mins * 60
        for w in list(self.workers.values()):
            for a in list(w.jobs.values()):
                r = self.book.get(a.request_id)
                if r is None or r.fulfillment != Fulfillment.ASSIGNED or r.worker_id != w.worker_id:
                    continue
                if now - a.started > proof_limit:
                    self.requeue(r, "timeout", cost="infra", cancel=True,
                                 detail=f"no proof after proof_timeout_mins={self.cfg.proof_timeout_mins:g}")
                elif progress_limit and now - a.last_progress > progress_limit:
                    self.requeue(r, "timeout", cost="infra", cancel=True,
                                 detail=f"no progress for progress_timeout_mins={self.cfg.progress_timeout_mins:g}")

    # -- strikes ------------------------------------------------------------------------------
    def strike(self, w: Worker, reason: str) -> None:
        w.strikes += 1
        self.metrics.struck(dropped=w.strikes >= self.cfg.max_strikes)
        log.warning("worker %s strike %d/%d: %s", w.name, w.strikes, self.cfg.max_strikes, reason)
        if w.strikes < self.cfg.max_strikes:
            return
        dead = DeadWorker(worker_id=w.worker_id, name=w.name, address=w.address, strikes=w.strikes,
                          reason=reason, died_at=self.clock.seconds(), completed=w.completed)
        self.dead[w.worker_id] = dead
        self.db.write(put=[dead]).addErrback(lambda f: log.error("dead worker write failed: %s", f.getErrorMessage()))
        log.error("worker %s dropped after %d strikes (last: %s)", w.name, w.strikes, reason)
        if w.conn is not None:
            conn, w.conn = w.conn, None
            self._touch(w)
            conn.close(wp.CLOSE_DROPPED, f"dropped after {w.strikes} strikes: {reason}")
        self._forget(w, "was dropped")

    # -- job URLs (HTTP) --------------------------------------------------------------------
    def job(self, token: str) -> ProofRequest | None:
        r = self._by_token.get(token)
        return r if r is not None and r.fulfillment == Fulfillment.ASSIGNED and r.job_token == token else None

    def job_file(self, token: str, what: str) -> tuple[Path, int] | None:
        """(path, bytes to skip) of a job's input: the raw ELF or the SP1Stdin."""
        r = self.job(token)
        if r is None:
            return None
        if what == "elf":
            a = self.artifacts.get(r.program_artifact)
            return (self.artifacts.path(a), 8) if a else None   # strip bincode's u64 length (§4.3)
        if what == "stdin":
            a = self.artifacts.get(r.stdin_artifact)
            return (self.artifacts.path(a), 0) if a else None
        return None

    def refuse_proof_early(self, token: str) -> Outcome | None:
        if self.job(token) is None:
            return Outcome(409, "this job attempt is no longer current (superseded, cancelled or finished)")
        return None

    @defer.inlineCallbacks
    def accept_proof(self, token: str, spool: Spool):
        """The proof PUT is the completion: validate, store, fulfill (docs/worker-protocol.md)."""
        try:
            result = yield spool.finish()
        except SpoolError as e:
            return Outcome(e.code, str(e))
        r = self.job(token)
        if r is None or token in self._accepting:
            yield threads.deferToThread(result.path.unlink, missing_ok=True)
            return Outcome(409, "this job attempt is no longer current (superseded, cancelled or finished)")
        self._accepting.add(token)
        try:
            outcome = yield self._accept(r, result)
        finally:
            self._accepting.discard(token)
        return outcome

    @defer.inlineCallbacks
    def _accept(self, r: ProofRequest, result):
        w = self.workers.get(r.worker_id)
        expected_pv = r.extra.get("public_values")
        expected_pv = bytes.fromhex(expected_pv) if isinstance(expected_pv, str) else None
        checking = time.perf_counter()
        problem = yield threads.deferToThread(check_proof_file, result.path, r.mode, r.circuit_version, expected_pv)
        self.metrics.proof_checked("refused" if problem else "structure", time.perf_counter() - checking)
        self.metrics.upload("proof", 422 if problem else 200, result.wire_bytes)
        if self.job(r.job_token or "") is not r:
            problem = problem or "the attempt was superseded while its proof was being checked"
            yield threads.deferToThread(result.path.unlink, missing_ok=True)
            return Outcome(409, problem)
        if problem:
            yield threads.deferToThread(result.path.unlink, missing_ok=True)
            log.warning("request %s attempt %d: bad proof from %s: %s", _rid(r.request_id), r.attempt,
                        w.name if w else r.worker_id, problem)
            # The bad proof costs an attempt first; then the strike may drop the worker.
            self.requeue(r, "bad-proof", cost="attempt", detail=problem)
            if w is not None:
                self.strike(w, f"bad proof for {_rid(r.request_id)}: {problem}")
            return Outcome(422, f"proof refused: {problem}")
        artifact = self.artifacts.new(ArtifactKind.PROOF, b"", uploadable=False)
        yield self.artifacts.store_file(artifact, result.path, result.size, result.wire_sha256)
        started = r.assigned_at or self.clock.seconds()
        running = w.jobs.get(r.request_id) if w is not None else None
        self._release(r)
        self._record(r, w, "fulfilled")
        r.worker_id, r.job_token, r.assigned_at = None, None, None
        fulfilled = self.book.fulfill(r, artifact.id)
        if w is not None:
            w.completed += 1
            w.record_time(r.mode, self.clock.seconds() - started)
            cycles = r.cycles if r.cycles is not None else (running.cycles if running is not None else None)
            for fn in self.on_proven:
                fn(w.worker_id, r.mode, self.clock.seconds() - started, cycles)
        # The freed slot's next assignment joins the same group commit as this fulfilment,
        # so the worker gets its next job as it gets this 200 (writes commit in order).
        self.dispatch()
        yield fulfilled
        log.info("request %s fulfilled by %s (%d bytes, attempt %d)", _rid(r.request_id),
                 w.name if w else "?", result.size, r.attempt)
        return Outcome(200, "proof accepted")

    # -- views ------------------------------------------------------------------------------
    def workers_json(self) -> list[dict]:
        now = self.clock.seconds()
        return [w.to_json(now) for w in self.workers.values()]

    def dead_json(self) -> list[dict]:
        return [{"worker_id": d.worker_id, "name": d.name, "address": d.address, "strikes": d.strikes,
                 "reason": d.reason, "died_at": d.died_at, "num_completed_proofs": d.completed}
                for d in sorted(self.dead.values(), key=lambda d: d.died_at)]

    def history_json(self, limit: int = 100) -> list[dict]:
        out = []
        for h in list(self.history)[-limit:][::-1]:
            r = self.book.get(h.request_id)
            out.append({"cycles": r.cycles if r else None,
                        "public_values_hash": "0x" + r.public_values_hash.hex() if r and r.public_values_hash else None,"proof_request_id": _rid(h.request_id), "attempt": h.attempt,
                        "proof_mode": versions.ProofMode(h.mode).name, "circuit_version": h.circuit_version,
                        "worker_id": h.worker_id, "worker_name": h.worker_name, "outcome": h.outcome,
                        "detail": h.detail, "started_at": h.started_at, "finished_at": h.finished_at,
                        "minutes_to_complete": round((h.finished_at - h.started_at) / 60, 3)})
        return out
