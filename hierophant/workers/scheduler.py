"""The scheduler: owner of every attempt (which worker's prover holds which request), on the
reactor thread.

It ties the parts together: the queue and placement policy (hierophant.workers.placement,
pure), the worker registry (registry) and its timers (liveness), proof intake (intake, which
calls `current`, `proof_accepted` and `proof_refused`), and the request book, which commits
every change before anyone sees it. Assignment is event-driven: a new request, a worker
registering, a slot freeing; status polls only read. The failure rules are DESIGN.md's: a
worker's death, disconnect or `released` job costs no attempt; `program` failures and bad
proofs cost `max_attempts`; infrastructure failures and timeouts cost `max_infra_retries`.

Public methods for an admin API: `cancel(request_id, reason)`, `requeue(request_id, why)` (no
attempt spent), `set_draining(worker_id, flag)`, `kick(worker_id, reason)` (its jobs requeue at
once, no attempt spent). Each returns a Deferred or None and raises KeyError for an unknown id.
"""
from __future__ import annotations

import base64
import logging
import secrets
from collections import deque
from typing import Iterable

from twisted.application import service
from twisted.internet import defer
from twisted.python.failure import Failure

from hierophant.artifacts import ArtifactIndex
from hierophant.config import SchedulerConfig
from hierophant.history import History
from hierophant.metrics import HierophantMetrics
from hierophant.model import Artifact, DeadWorker, Fulfillment, ProofRecord, ProofRequest, new_token, parse_rid, rid_hex
from hierophant.programs import Programs
from hierophant.requests import NotCommitted, RequestBook
from hierophant.workers import views
from hierophant.workers.dead import DeadWorkers
from hierophant.workers.liveness import Liveness
from hierophant.workers.placement import JobQueue, SlotRef, place
from hierophant.workers.registry import Assignment, Connection, Prover, Registry, Worker
from network_lib import versions
from network_lib import worker_protocol as wp

log = logging.getLogger("hierophant.scheduler")

REFUSAL_BACKOFF_SECS = 2.0      # a prover that said "no free slot" gets no job for this long
TRANSIENT_REFUSALS = ("no free slot", "draining")
LATENCIES_KEPT = 10_000
STORE_RETRY_SECS = 1.0          # a request whose assignment the store refused waits this long
ATTEMPT_CHECK_SECS = 5.0        # attempt limits are minutes long: looked for this often, not every tick


class Refused(Exception):
    """A registration the hierophant will not accept: close with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Scheduler(service.Service):
    def __init__(self, cfg: SchedulerConfig, book: RequestBook, artifacts: ArtifactIndex, programs: Programs,
                 public_base: str, execution_enabled: bool, history: History, dead: DeadWorkers,
                 clock=None, metrics: HierophantMetrics | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.cfg = cfg
        self.metrics = metrics or HierophantMetrics()
        self.book, self.artifacts, self.programs = book, artifacts, programs
        self.history, self.dead = history, dead
        self.public_base = public_base
        self.execution_enabled = execution_enabled
        self.clock = clock
        # (worker_id, mode, seconds, cycles or None) of each accepted proof: the ETA rates learn
        self.on_proven: list = []
        self.registry = Registry()
        self.queue = JobQueue()
        self.liveness = Liveness(clock, cfg, self.registry, self)
        self.latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)   # slot free -> job sent, seconds
        self._tokens: dict[str, bytes] = {}         # job token -> request id (current attempts)
        self._token_of: dict[bytes, str] = {}       # ... and back
        self._held: dict[bytes, str] = {}           # request id -> worker id holding its attempt
        self._holding: dict[str, set[bytes]] = {}   # ... and back: worker id -> request ids
        self._orphans: dict[bytes, float] = {}      # assigned before a restart -> grace end
        self._blocked: set[str] = set()             # workers with a prover refusing for a while
        self._attempts_checked = float("-inf")      # when attempt timeouts were last looked for
        self._warned: dict[tuple[int, str], float] = {}
        self._dispatching = self._again = False
        self._load()

    @property
    def workers(self) -> dict[str, Worker]:
        return self.registry.workers

    # -- start-up ---------------------------------------------------------------------
    def _load(self) -> None:
        grace_end = self.clock.seconds() + self.cfg.reattach_grace_secs
        for r in self.book.live():
            if r.fulfillment == Fulfillment.ASSIGNED and r.job_token and r.worker_id:
                self._tokens[r.job_token], self._token_of[r.request_id] = r.request_id, r.job_token
                self._hold(r.request_id, r.worker_id)
                self._orphans[r.request_id] = grace_end
            else:
                self._push(r)
        if self._orphans:
            log.info("%d assigned jobs wait %ss for their workers to reconnect",
                     len(self._orphans), self.cfg.reattach_grace_secs)

    def startService(self) -> None:
        super().startService()
        self.book.on_new.append(self._enqueue)
        self.book.on_terminal.append(self._on_terminal)
        self.liveness.start()

    def stopService(self):
        self.liveness.stop()
        self.book.on_new.remove(self._enqueue)
        self.book.on_terminal.remove(self._on_terminal)
        return super().stopService()

    # -- the queue --------------------------------------------------------------------
    def _push(self, r: ProofRequest) -> None:
        self.queue.push(r.request_id, (r.mode, r.circuit_version), r.deadline, r.created_at)

    def _enqueue(self, r: ProofRequest) -> None:
        self._push(r)
        self._warn_if_unservable(r)
        self.dispatch()

    def _warn_if_unservable(self, r: ProofRequest) -> None:
        key = (r.mode, r.circuit_version)
        if self.registry.free.serves(key) or self.registry.serves(key):     # the first is O(1)
            return
        now = self.clock.seconds()
        if now - self._warned.get(key, -1e9) < 60:
            return
        self._warned[key] = now
        connected = self.registry.connected()
        log.warning("request %s waits: no connected worker serves %s proofs for %s (%d workers connected%s)",
                    rid_hex(r.request_id), versions.ProofMode(r.mode).name, r.circuit_version, len(connected),
                    "" if not connected else ": " + "; ".join(
                        f"{w.name} serves {sorted(versions.ProofMode(m).name for m in w.modes if m in (1, 2, 3, 4))}"
                        f" for {sorted(w.circuit_versions)}" for w in connected[:5]))

    # -- dispatch ---------------------------------------------------------------------
    def dispatch(self) -> None:
        """Fill free prover slots, earliest deadline first, each with the best capable prover."""
        if self._dispatching:
            self._again = True
            return
        self._dispatching = True
        try:
            self._again = True
            while self._again:
                self._again = False
                while (placed := place(self.queue, self.registry.free, self.registry.rank, self._avoid)) is not None:
                    self._assign(*placed)
        finally:
            self._dispatching = False

    def _assign(self, rid: bytes, slot: SlotRef) -> None:
        r = self.book.latest(rid)
        if r is None or r.fulfillment != Fulfillment.REQUESTED:
            return          # given up or cancelled while queued
        w = self.registry.workers[slot.worker_id]
        prover = w.provers[slot.prover]
        now = self.clock.seconds()
        token = new_token()
        attempt = r.attempt + 1
        w.jobs[rid] = Assignment(rid, attempt, r.mode, prover.index, now, last_progress=now)
        prover.busy += 1
        w.last_assigned = now
        self.registry.touch(w, now)
        self._tokens[token], self._token_of[rid] = rid, token
        self._hold(rid, w.worker_id)
        d = self.book.update(rid, fulfillment=Fulfillment.ASSIGNED, attempt=attempt, worker_id=w.worker_id,
                             job_token=token, assigned_at=now)
        d.addCallbacks(self._send_job, self._assignment_lost, callbackArgs=(w, token), errbackArgs=(rid, token))
        self._track(d, f"assigning {rid_hex(rid)}")

    def _assignment_lost(self, failure: Failure, rid: bytes, token: str) -> None:
        """The store refused the assignment: undo it; the request waits in the queue again."""
        if self._tokens.get(token) == rid:
            self._release(rid)
            self.clock.callLater(STORE_RETRY_SECS, self._requeue_committed, rid)
        failure.trap(NotCommitted)

    def _requeue_committed(self, rid: bytes) -> None:
        r = self.book.latest(rid)
        if r is not None and r.fulfillment == Fulfillment.REQUESTED and rid not in self._held:
            self._push(r)
            self.dispatch()

    def _send_job(self, r: ProofRequest, w: Worker, token: str) -> None:
        rid = r.request_id
        a = w.jobs.get(rid)
        if self._tokens.get(token) != rid or a is None or w.conn is None:
            return      # superseded meanwhile, or the worker left: liveness rules take over
        program = self.programs.get(r.vk_hash)
        base = f"{self.public_base}/jobs/{token}"
        w.conn.send(wp.Job(
            request_id=rid_hex(rid), attempt=r.attempt, mode=r.mode, circuit_version=r.circuit_version,
            vk_hash="0x" + r.vk_hash.hex(), vk=base64.b64encode(program.vk if program else b"").decode(),
            elf_url=f"{base}/elf", stdin_url=f"{base}/stdin", proof_upload_url=f"{base}/proof",
            deadline=r.deadline, cycle_limit=r.cycle_limit, nonce=[0, 0, 0, 0], total_cycles=r.cycles,
            prover=a.prover))
        self.metrics.attempt_started(versions.ProofMode(r.mode).name)
        if w.freed_at is not None:
            self.latencies.append(self.clock.seconds() - w.freed_at)
            w.freed_at = None
        log.info("request %s attempt %d (%s %s) -> %s prover %d", rid_hex(rid), r.attempt,
                 versions.ProofMode(r.mode).name, r.circuit_version, w.name, a.prover)

    # -- taking jobs back ---------------------------------------------------------------
    def _release(self, rid: bytes) -> Worker | None:
        """Detach the current attempt from its worker (its token stops working)."""
        token = self._token_of.pop(rid, None)
        if token is not None:
            self._tokens.pop(token, None)
        self._orphans.pop(rid, None)
        w = self.registry.get(self._unhold(rid))
        a = w.jobs.pop(rid, None) if w is not None else None
        if a is not None:
            if a.prover < len(w.provers):
                w.provers[a.prover].busy = max(0, w.provers[a.prover].busy - 1)
            w.freed_at = self.clock.seconds()
            self.registry.touch(w, self.clock.seconds())
        return w

    def _hold(self, rid: bytes, worker_id: str) -> None:
        self._unhold(rid)
        self._held[rid] = worker_id
        self._holding.setdefault(worker_id, set()).add(rid)

    def _unhold(self, rid: bytes) -> str | None:
        worker_id = self._held.pop(rid, None)
        rids = self._holding.get(worker_id) if worker_id is not None else None
        if rids is not None:
            rids.discard(rid)
            if not rids:
                del self._holding[worker_id]
        return worker_id

    def _requeue(self, rid: bytes, why: str, cost: str | None = None, cancel: bool = False,
                 detail: str = "", extra: dict | None = None) -> defer.Deferred:
        """Back to the queue under the same id; `cost` is "attempt" or "infra" (or None)."""
        r = self.book.latest(rid)
        if r is None or r.fulfillment != Fulfillment.ASSIGNED:
            return defer.succeed(None)
        w = self._release(rid)
        written = self._with_history(self._history_record(r, w, why, detail))
        self.metrics.requeued(why)
        if cancel and w is not None and w.conn is not None:
            w.conn.send(wp.Cancel(request_id=rid_hex(rid), attempt=r.attempt, reason=why))
        attempts, infra, extra = r.attempts, r.infra_retries, r.extra if extra is None else extra
        last = f"(last: {why}{': ' + detail if detail else ''})"
        if cost == "attempt":
            attempts += 1
            if why == "program":
                extra = {**extra, "program_failures": extra.get("program_failures", 0) + 1}
            if attempts >= self.cfg.max_attempts:
                return self._give_up(rid, f"{attempts} attempts failed {last}", attempts=attempts, extra=extra,
                                     **written)
        elif cost == "infra":
            infra += 1
            if infra > self.cfg.max_infra_retries:
                return self._give_up(rid, f"{infra} infrastructure failures {last}", infra_retries=infra,
                                     **written)
        log.info("request %s back to the queue: %s%s", rid_hex(rid), why, f" ({detail})" if detail else "")
        d = self.book.update(rid, fulfillment=Fulfillment.REQUESTED, worker_id=None, job_token=None,
                             assigned_at=None, attempts=attempts, infra_retries=infra, extra=extra, **written)
        d.addCallback(self._requeued)
        return d

    def _requeued(self, r: ProofRequest) -> ProofRequest:
        if r.fulfillment == Fulfillment.REQUESTED:
            self._push(r)
            self.dispatch()
        return r

    def _give_up(self, rid: bytes, reason: str, **changes) -> defer.Deferred:
        r = self.book.latest(rid)
        attempts = changes.get("attempts", r.attempts)
        failures = changes.get("extra", r.extra).get("program_failures", 0)
        # Without our own execution, a program that failed on every attempt is UNEXECUTABLE.
        unexecutable = failures >= attempts > 0 and not self.execution_enabled
        d = self.book.give_up(rid, reason, unexecutable=unexecutable, **changes)
        d.addCallback(lambda _: self.dispatch())
        return d

    def _on_terminal(self, r: ProofRequest) -> None:
        """A request's end committed (deadline, cancelled, execution failed): stop its attempt."""
        rid = r.request_id
        self.queue.discard(rid)
        if r.fulfillment == Fulfillment.FULFILLED or rid not in self._held:
            return
        w = self.registry.get(self._held.get(rid))
        a = w.jobs.get(rid) if w is not None else None
        if a is not None:
            rec = self._history_record(r, w, "given-up", r.failure, attempt=a.attempt, started=a.started)
            self._track(self.history.record(rec), "recording proof history")
        self._release(rid)
        if w is not None and a is not None and w.conn is not None:
            w.conn.send(wp.Cancel(request_id=rid_hex(rid), attempt=a.attempt, reason=r.failure))
        self.dispatch()

    def _history_record(self, r: ProofRequest, w: Worker | None, outcome: str, detail: str = "",
                        checked: str = "", attempt: int | None = None, started: float | None = None) -> ProofRecord:
        now = self.clock.seconds()
        rec = ProofRecord(id=secrets.token_hex(12), request_id=r.request_id,
                          attempt=r.attempt if attempt is None else attempt, mode=r.mode,
                          circuit_version=r.circuit_version, worker_id=w.worker_id if w else (r.worker_id or ""),
                          worker_name=w.name if w else "", started_at=started or r.assigned_at or now,
                          finished_at=now, outcome=outcome, detail=detail[:500], checked=checked)
        self.metrics.attempt_finished(versions.ProofMode(r.mode).name, outcome, rec.finished_at - rec.started_at)
        return rec

    def _with_history(self, rec: ProofRecord) -> dict:
        """Book-update arguments that write `rec` in the same transaction (one commit)."""
        return {"also": [rec], "committed": lambda: self.history.adopt(rec)}

    def _track(self, d: defer.Deferred, what: str) -> None:
        """Every Deferred the scheduler starts ends here: failures are logged with their
        traceback (a store refusal was logged by its owner already)."""
        def failed(f: Failure) -> None:
            if not f.check(NotCommitted):
                log.error("%s failed\n%s", what, f.getTraceback())
        d.addErrback(failed)

    # -- worker events (from the socket) ----------------------------------------------------
    def register(self, conn: Connection, msg: wp.Register) -> wp.Registered:
        if wp.major(msg.protocol) != wp.major(wp.PROTOCOL_VERSION):
            raise Refused(wp.CLOSE_VERSION, f"protocol {msg.protocol} is incompatible with this hierophant's "
                                            f"{wp.PROTOCOL_VERSION} (MAJOR differs)")
        dead = self.dead.refused(msg.worker_id)
        if dead is not None:
            raise Refused(wp.CLOSE_DROPPED, f"worker {msg.worker_id} was dropped after {dead.strikes} strikes: "
                                            f"{dead.reason}")
        now = self.clock.seconds()
        w = self.registry.get(msg.worker_id)
        if w is None:
            w = self.registry.add(Worker(worker_id=msg.worker_id, name=msg.name))
        elif w.conn is not None and w.conn is not conn:
            w.conn.close(wp.CLOSE_REPLACED, "another connection registered this worker_id")
        self.registry.clear(w)
        w.update_from_register(msg, conn.peer)
        w.conn, w.connected_at = conn, now
        self.liveness.back(w)
        self.liveness.seen(w)
        resume, cancel = self._reattach(w, msg.jobs)
        self.registry.touch(w, now)
        log.info("worker %s (%s) registered from %s: %s%s", w.name, w.worker_id, conn.peer,
                 "; ".join(f"prover {p.index} {p.backend or '?'}: {p.slots} slots, modes {sorted(p.modes)}, "
                           f"circuits {sorted(p.circuit_versions)}" for p in w.provers) or "no provers",
                 f"; resumed {len(resume)} jobs" if resume else "")
        self._warned.clear()
        self.clock.callLater(0, self.dispatch)
        return wp.Registered(protocol=wp.PROTOCOL_VERSION, worker_id=w.worker_id,
                             heartbeat_interval_secs=self.cfg.heartbeat_interval_secs,
                             resume=resume, cancel=cancel)

    def _reattach(self, w: Worker, listed: Iterable) -> tuple[list, list]:
        """Keep the jobs this worker still runs; take back those it lost."""
        resume, cancel, claimed = [], [], set()
        for job in listed if isinstance(listed, list) else []:
            if not isinstance(job, dict):
                continue
            rid, attempt = parse_rid(job.get("request_id")), job.get("attempt")
            r = self.book.latest(rid) if rid else None
            if (r is not None and r.fulfillment == Fulfillment.ASSIGNED and self._held.get(rid) == w.worker_id
                    and r.attempt == attempt):
                claimed.add(rid)
                self._orphans.pop(rid, None)
                if rid not in w.jobs:
                    p = self._prover_for(w, r)
                    w.jobs[rid] = Assignment(rid, r.attempt, r.mode, p.index if p else 0,
                                             r.assigned_at or self.clock.seconds(), last_progress=self.clock.seconds())
                    if p is not None:
                        p.busy += 1
                resume.append({"request_id": rid_hex(rid), "attempt": attempt})
            else:
                cancel.append({"request_id": job.get("request_id"), "attempt": attempt})
        held = set(self._holding.get(w.worker_id, ()))
        for rid in held - claimed:
            self._track(self._requeue(rid, "lost", detail=f"{w.name} reconnected without it"), "requeueing")
        return resume, cancel

    @staticmethod
    def _prover_for(w: Worker, r: ProofRequest) -> Prover | None:
        key = (r.mode, r.circuit_version)
        serving = [p for p in w.provers if p.serves(key)] or w.provers
        return min(serving, key=lambda p: p.busy - p.slots, default=None)

    def seen(self, w: Worker) -> None:
        self.liveness.seen(w)

    def heartbeat(self, w: Worker, msg: wp.HeartbeatIn) -> None:
        """A heartbeat: `w` is alive (no `seen` call needed), and its hardware as it is now
        (kept as JSON bytes until someone looks)."""
        self.liveness.seen(w)
        if msg.hardware:
            w.hardware_json = msg.hardware

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
        rid = r.request_id
        log.warning("request %s attempt %d failed on %s (%s): %s", msg.request_id, msg.attempt, w.name,
                    msg.kind, msg.message)
        if msg.kind == "program":
            d = self._requeue(rid, "program", cost="attempt", detail=msg.message)
        elif msg.kind == "released":
            # The worker gave the job back untried (it is stopping): at once, nothing spent.
            d = self._requeue(rid, "released", detail=msg.message)
        elif msg.kind == "unsupported":
            self._refused_by(w, w.prover_for(rid), (r.mode, r.circuit_version), msg.message)
            d = self._requeue(rid, "unsupported", detail=msg.message)
        else:
            d = self._requeue(rid, "infrastructure", cost="infra", detail=msg.message)
        self._track(d, f"requeueing {msg.request_id}")

    def _refused_by(self, w: Worker, p: Prover | None, key: tuple[int, str], message: str) -> None:
        """A transient refusal (no free slot, draining) pauses the prover; any other
        `unsupported` means this prover cannot take the key. No capability is lost to the
        first kind."""
        if p is None:
            return
        if any(t in (message or "") for t in TRANSIENT_REFUSALS):
            p.blocked_until = self.clock.seconds() + REFUSAL_BACKOFF_SECS
            self._blocked.add(w.worker_id)
        else:
            p.unsupported.add(key)

    def executed(self, r: ProofRequest) -> None:
        """Our execution finished: the worker proving it learns the cycle count."""
        w = self.registry.get(self._held.get(r.request_id))
        a = w.jobs.get(r.request_id) if w is not None else None
        if a is not None and w.conn is not None and r.cycles is not None:
            w.conn.send(wp.JobUpdate(request_id=rid_hex(r.request_id), attempt=a.attempt, total_cycles=r.cycles))

    def draining(self, w: Worker) -> None:
        w.draining = True
        self.registry.touch(w, self.clock.seconds())
        log.info("worker %s is draining: no new jobs", w.name)

    def disconnected(self, w: Worker, conn: Connection, why: str) -> None:
        if w.conn is not conn:
            return
        w.conn = None
        self.registry.touch(w, self.clock.seconds())
        if w.jobs:
            self.liveness.dropped(w)
        log.info("worker %s disconnected (%s); its %d jobs wait %gs for it to come back",
                 w.name, why, len(w.jobs), self.cfg.reconnect_grace_secs)

    def _current(self, w: Worker, request_id: str, attempt: int) -> Assignment | None:
        rid = parse_rid(request_id)
        a = w.jobs.get(rid) if rid else None
        return a if a is not None and a.attempt == attempt else None

    def _current_request(self, w: Worker, request_id: str, attempt: int) -> ProofRequest | None:
        if self._current(w, request_id, attempt) is None:
            return None
        rid = parse_rid(request_id)
        r = self.book.latest(rid)
        if r is None or r.fulfillment != Fulfillment.ASSIGNED or self._held.get(rid) != w.worker_id:
            return None
        return r

    # -- liveness events (hierophant.workers.liveness) -----------------------------------------
    def reconnect_grace_over(self, w: Worker) -> None:
        if w.conn is not None or self.registry.get(w.worker_id) is not w:
            return
        for rid in list(w.jobs):
            self._track(self._requeue(rid, "lost", detail=f"{w.name} did not reconnect within "
                                                          f"reconnect_grace_secs={self.cfg.reconnect_grace_secs:g}"),
                        "requeueing")

    def worker_silent(self, w: Worker) -> None:
        if w.conn is not None:
            log.warning("worker %s sent nothing for %.0fs: declared gone", w.name,
                        self.clock.seconds() - w.last_seen)
            conn, w.conn = w.conn, None
            self.registry.touch(w, self.clock.seconds())
            conn.close(wp.CLOSE_TIMEOUT, f"no heartbeat for {self.cfg.heartbeat_timeout_secs:g}s")
        self._forget(w, "gone")

    def tick(self, now: float) -> None:
        for rid, end in list(self._orphans.items()):
            r = self.book.latest(rid)
            if r is None or r.fulfillment != Fulfillment.ASSIGNED:
                self._orphans.pop(rid, None)
            elif now >= end:
                self._track(self._requeue(rid, "lost", detail="no worker reclaimed it after the restart"),
                            "requeueing")
        if now - self._attempts_checked >= ATTEMPT_CHECK_SECS:
            self._attempts_checked = now
            self._check_attempt_timeouts(now)
        for wid in list(self._blocked):
            w = self.registry.get(wid)
            if w is None or all(p.blocked_until <= now for p in w.provers):
                self._blocked.discard(wid)
                if w is not None:
                    self.registry.touch(w, now)
        if len(self.queue) and len(self.registry.free):
            self.dispatch()

    def _forget(self, w: Worker, why: str) -> None:
        """The worker is gone for good: its jobs go back to the queue, at no attempt's cost."""
        for rid in list(w.jobs):
            self._track(self._requeue(rid, "lost", detail=f"worker {w.name} {why}"), "requeueing")
        self.liveness.back(w)
        self.registry.remove(w)

    def _check_attempt_timeouts(self, now: float) -> None:
        proof_limit = self.cfg.proof_timeout_mins * 60
        progress_limit = self.cfg.progress_timeout_mins * 60
        for w in [w for w in self.registry.workers.values() if w.jobs]:
            for a in list(w.jobs.values()):
                if now - a.started > proof_limit:
                    detail = f"no proof after proof_timeout_mins={self.cfg.proof_timeout_mins:g}"
                elif progress_limit and now - a.last_progress > progress_limit:
                    detail = f"no progress for progress_timeout_mins={self.cfg.progress_timeout_mins:g}"
                else:
                    continue
                self._track(self._requeue(a.request_id, "timeout", cost="infra", cancel=True, detail=detail),
                            "requeueing")

    # -- strikes ------------------------------------------------------------------------------
    def strike(self, w: Worker, reason: str) -> None:
        w.strikes += 1
        self.metrics.struck(dropped=w.strikes >= self.cfg.max_strikes)
        log.warning("worker %s strike %d/%d: %s", w.name, w.strikes, self.cfg.max_strikes, reason)
        if w.strikes < self.cfg.max_strikes:
            return
        dead = DeadWorker(worker_id=w.worker_id, name=w.name, address=w.address, strikes=w.strikes,
                          reason=reason, died_at=self.clock.seconds(), completed=w.completed)
        self._track(self.dead.add(dead), "recording a dead worker")
        log.error("worker %s dropped after %d strikes (last: %s)", w.name, w.strikes, reason)
        if w.conn is not None:
            conn, w.conn = w.conn, None
            self.registry.touch(w, self.clock.seconds())
            conn.close(wp.CLOSE_DROPPED, f"dropped after {w.strikes} strikes: {reason}")
        self._forget(w, "was dropped")

    # -- proof intake's interface (hierophant.workers.intake.Attempts) -------------------------
    def current(self, token: str) -> ProofRequest | None:
        """The request whose current attempt `token` names, else None."""
        rid = self._tokens.get(token)
        r = self.book.latest(rid) if rid else None
        return r if r is not None and r.fulfillment == Fulfillment.ASSIGNED and r.job_token == token else None

    def job_file(self, token: str, what: str) -> tuple[str, int] | None:
        """(blob id, bytes to skip) of a job's input: the raw ELF or the SP1Stdin."""
        r = self.current(token)
        if r is None:
            return None
        if what == "elf":
            return self.artifacts.elf(r.program_artifact)
        if what == "stdin":
            a = self.artifacts.get(r.stdin_artifact)
            return (a.id, 0) if a else None
        return None

    def proof_refused(self, request_id: bytes, token: str, problem: str) -> None:
        r = self.book.latest(request_id)
        w = self.registry.get(self._held.get(request_id))
        log.warning("request %s attempt %d: bad proof from %s: %s", rid_hex(request_id), r.attempt,
                    w.name if w else r.worker_id, problem)
        # The bad proof costs an attempt first; then the strike may drop the worker.
        self._track(self._requeue(request_id, "bad-proof", cost="attempt", detail=problem), "requeueing")
        if w is not None:
            self.strike(w, f"bad proof for {rid_hex(request_id)}: {problem}")

    def proof_accepted(self, request_id: bytes, token: str, artifact: Artifact, checked: str,
                       detail: str = "") -> defer.Deferred:
        """FULFILLED, durably; the freed slot's next assignment joins the same group commit,
        so the worker gets its next job as it gets this 200 (writes commit in order)."""
        r = self.book.latest(request_id)
        w = self.registry.get(self._held.get(request_id))
        now = self.clock.seconds()
        started = r.assigned_at or now
        running = w.jobs.get(request_id) if w is not None else None
        self._release(request_id)
        rec = self._history_record(r, w, "fulfilled", detail, checked=checked)

        def committed() -> None:
            self.artifacts.adopt(artifact)
            self.history.adopt(rec)
        # The proof's record, the history record and FULFILLED: one transaction.
        d = self.book.fulfill(request_id, artifact.id, also=[artifact, rec], committed=committed)
        if w is not None:
            w.completed += 1
            w.record_time(r.mode, now - started)
            cycles = r.cycles if r.cycles is not None else (running.cycles if running is not None else None)
            for fn in self.on_proven:
                fn(w.worker_id, r.mode, now - started, cycles)
        self.dispatch()
        d.addErrback(self._fulfilment_lost, request_id, artifact)
        return d

    def proof_for_another_program(self, request_id: bytes, token: str, vkey: str,
                                  problem: str) -> defer.Deferred:
        """The proof verifies, but for another program's vkey: the client's vk hash may not
        belong to its ELF. Once more on another worker, no strike; then UNFULFILLABLE (issue 10)."""
        r = self.book.latest(request_id)
        w = self.registry.get(self._held.get(request_id))
        key = (r.mode, r.circuit_version)
        again = r.extra.get("foreign_vkey") == vkey
        others = any(x is not w and x.connected and x.serves(key) for x in self.registry.workers.values())
        log.warning("request %s attempt %d from %s: %s", rid_hex(request_id), r.attempt,
                    w.name if w else r.worker_id, problem)
        if again or not others:
            why = "a second worker's proof carries the same vkey" if again else "no other worker serves it"
            self._release(request_id)
            written = self._with_history(self._history_record(r, w, "vkey-mismatch", problem))
            return self._give_up(request_id, f"{problem} ({why})", **written)
        extra = {**r.extra, "foreign_vkey": vkey, "avoid_worker": w.worker_id if w else r.worker_id}
        return self._requeue(request_id, "vkey-mismatch", detail=problem, extra=extra)

    def _avoid(self, request_id: bytes) -> str | None:
        """The worker a queued request must not go to (placement.place)."""
        r = self.book.latest(request_id)
        return r.extra.get("avoid_worker") if r is not None else None

    def _fulfilment_lost(self, failure: Failure, rid: bytes, artifact: Artifact) -> Failure:
        """The store refused FULFILLED: the request goes back to the queue (no attempt spent)."""
        self._track(self.artifacts.discard_file(artifact), "removing an unrecorded proof file")
        d = self.book.update(rid, fulfillment=Fulfillment.REQUESTED, worker_id=None, job_token=None,
                             assigned_at=None)
        d.addCallback(self._requeued)
        self._track(d, f"requeueing {rid_hex(rid)}")
        return failure

    # -- the admin API's interface ---------------------------------------------------------------
    def cancel(self, request_id: bytes, reason: str = "cancelled by an operator") -> defer.Deferred:
        """Give a request up (UNFULFILLABLE); a running attempt is cancelled on its worker."""
        r = self.book.latest(request_id)
        if r is None:
            raise KeyError(f"unknown request {rid_hex(request_id)}")
        if r.terminal:
            return defer.succeed(r)
        self.queue.discard(request_id)
        return self.book.give_up(request_id, reason)   # the reason as given (issue 11: "cancelled by an operator")

    def requeue(self, request_id: bytes, why: str = "requeued by an operator") -> defer.Deferred:
        """Take an assigned request back from its worker (cancelled there), no attempt spent."""
        r = self.book.latest(request_id)
        if r is None:
            raise KeyError(f"unknown request {rid_hex(request_id)}")
        if r.fulfillment != Fulfillment.ASSIGNED:
            return defer.succeed(r)
        return self._requeue(request_id, "requeued", cancel=True, detail=why)

    def set_draining(self, worker_id: str, draining: bool) -> None:
        """An operator's drain (no new jobs; running ones finish) or undrain of a worker.
        Kept across its reconnects; independent of the worker's own `draining`."""
        w = self.registry.get(worker_id)
        if w is None:
            raise KeyError(f"unknown worker {worker_id}")
        w.held = draining
        self.registry.touch(w, self.clock.seconds())
        log.info("worker %s %s by an operator", w.name, "drained" if draining else "undrained")
        if not draining:
            self.dispatch()

    def kick(self, worker_id: str, reason: str = "kicked by an operator") -> defer.Deferred:
        """Close a worker's socket; its jobs go back to the queue at once, no attempt spent.
        The worker may reconnect (it is not dropped). Fires once the requeues are committed
        (a failed one was logged), so that an answer never runs ahead of the store."""
        w = self.registry.get(worker_id)
        if w is None:
            raise KeyError(f"unknown worker {worker_id}")
        conn, w.conn = w.conn, None
        self.registry.touch(w, self.clock.seconds())
        self.liveness.back(w)
        requeues = []
        for rid in list(w.jobs):
            a = w.jobs[rid]
            if conn is not None:
                conn.send(wp.Cancel(request_id=rid_hex(rid), attempt=a.attempt, reason=reason))
            d = self._requeue(rid, "kicked", detail=reason)
            self._track(d, "requeueing")
            requeues.append(d)
        if conn is not None:
            conn.close(wp.CLOSE_KICKED, reason)
        return defer.gatherResults(requeues)

    # -- views --------------------------------------------------------------------------------
    def workers_json(self) -> list[dict]:
        return views.workers_json(self.registry, self.clock.seconds())

    def dead_json(self) -> list[dict]:
        return views.dead_json(self.dead)

    def history_json(self, limit: int = 100) -> list[dict]:
        return views.history_json(self.history, self.book, limit)
