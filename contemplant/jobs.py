"""The contemplant's job table: one attempt per slot, from `job` to `completed`/`failed`.

Each attempt downloads its inputs, runs a backend, uploads the proof (the PUT is the
completion, docs/worker-protocol.md "Bytes over HTTP") and reports the outcome over the
socket. The table outlives the socket: a reconnect lists every attempt still here in
`register`, and an outcome reached while disconnected waits in the table until it can be
sent. State lives on the reactor (DESIGN.md "Runtime shape").
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from twisted.internet import defer, threads

from contemplant import transfer
from contemplant.backends.base import ELF_FILE, STDIN_FILE, Backend, BackendFailure
from contemplant.metrics import ContemplantMetrics
from network_lib.worker_protocol import Completed, Failed, Job, Message, Progress

log = logging.getLogger("contemplant.jobs")

PROGRESS_MIN_INTERVAL_SECS = 1.0   # per attempt, unless the phase changes
GONE_CODES = (404, 409, 410)       # the hierophant no longer wants this attempt


@dataclass(eq=False)
class Attempt:
    job: Job
    backend: Backend
    workdir: Path
    phase: str = "received"   # downloading / <backend phase> / uploading / reporting
    percent: Optional[float] = None
    cancelled: bool = False
    holds_slot: bool = True   # until its backend is done with it (the upload needs no slot)
    current: Optional[defer.Deferred] = None   # the step in flight, for cancel
    outcome: Optional[Message] = None          # waiting for a socket (phase "reporting")
    last_progress: float = float("-inf")
    last_phase: str = ""
    received_at: float = 0.0
    result: str = "cancelled"   # the outcome label for contemplant_jobs_finished_total
    done: defer.Deferred = field(default_factory=defer.Deferred)   # fires on leaving the table

    @property
    def key(self) -> tuple[str, int]:
        return (self.job.request_id, self.job.attempt)

    @property
    def ref(self) -> dict:
        return {"request_id": self.job.request_id, "attempt": self.job.attempt}

    @property
    def label(self) -> str:
        return f"{self.job.request_id[:18]}…#{self.job.attempt}"


class Gone(Exception):
    """The hierophant answered that this attempt is no longer wanted (409 and friends)."""


class Jobs:
    """The table of running attempts, owned by the reactor thread."""

    def __init__(self, backends: list[Backend], jobs_dir: Path, token: str,
                 send: Callable[[Message], bool], clock=None,
                 http_backoff: tuple[float, float] = (1.0, 30.0),
                 now: Callable[[], float] = time.time,
                 metrics: Optional[ContemplantMetrics] = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.backends = backends
        self.jobs_dir = jobs_dir
        self.token = token
        self.send = send            # True when the message went out on a registered socket
        self.clock = clock
        self.http_backoff = http_backoff
        self.now = now
        self.metrics = metrics or ContemplantMetrics()
        self.draining = False
        self.table: dict[tuple[str, int], Attempt] = {}

    # -- views ------------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return sum(b.capabilities.slots for b in self.backends)

    @property
    def busy_slots(self) -> int:
        return sum(1 for a in self.table.values() if a.holds_slot)

    def refs(self) -> list[dict]:
        return [a.ref for a in self.table.values()]

    def summary(self) -> list[dict]:
        return [{**a.ref, "phase": a.phase, "percent": a.percent} for a in self.table.values()]

    # -- messages from the hierophant ------------------------------------------------------
    def accept(self, job: Job) -> None:
        key = (job.request_id, job.attempt)
        if key in self.table:
            log.info("job %s#%d is already running here; ignoring the repeat", *key)
            return
        refusal, backend = self._place(job)
        if refusal:
            log.warning("refusing job %s#%d: %s", job.request_id, job.attempt, refusal)
            self.send(Failed(job.request_id, job.attempt, "unsupported", refusal))
            return
        a = Attempt(job, backend, self.jobs_dir / f"{job.request_id[2:18]}-{job.attempt}",
                    received_at=self.clock.seconds())
        self.table[key] = a
        self.metrics.job_received(backend.capabilities.backend)
        log.info("job received: %s mode %d %s (%s backend, %d/%d slots busy)", a.label, job.mode,
                 job.circuit_version, backend.capabilities.backend, len(self.table), self.slots)
        self._run(a)

    def update(self, request_id: str, attempt: int, total_cycles: Optional[int]) -> None:
        a = self.table.get((request_id, attempt))
        if a is not None:
            a.job.total_cycles = total_cycles

    def cancel(self, request_id: str, attempt: int, reason: str = "") -> None:
        a = self.table.get((request_id, attempt))
        if a is None:
            log.info("cancel for %s#%d, which is not running here", request_id, attempt)
            return
        log.info("job %s cancelled by the hierophant%s", a.label, f": {reason}" if reason else "")
        self._cancel(a)

    def cancel_all(self, reason: str) -> None:
        for a in list(self.table.values()):
            log.info("cancelling job %s: %s", a.label, reason)
            self._cancel(a)

    def flush_reports(self) -> None:
        """Send outcomes that waited for a socket (call after `registered`)."""
        for a in list(self.table.values()):
            if a.outcome is not None and self.send(a.outcome):
                log.info("reported the outcome of job %s after reconnecting", a.label)
                self._finish(a)

    def wait_all(self) -> defer.Deferred:
        return defer.DeferredList([a.done for a in self.table.values()])

    # -- internals ----------------------------------------------------------------------------
    def _place(self, job: Job) -> tuple[str, Optional[Backend]]:
        if self.draining:
            return "this worker is draining", None
        serving = [b for b in self.backends if b.capabilities.serves(job)]
        if job.prover is not None and 0 <= job.prover < len(self.backends):
            # Protocol 1.1: the hierophant names the prover whose slot it counted.
            named = self.backends[job.prover]
            serving = [named] + [b for b in serving if b is not named] if named in serving else serving
        if not serving:
            return (f"no prover here serves mode {job.mode} with circuit version "
                    f"{job.circuit_version}"), None
        for b in serving:
            busy = sum(1 for a in self.table.values() if a.backend is b and a.holds_slot)
            if busy < b.capabilities.slots:
                return "", b
        return "no free slot", None

    def _cancel(self, a: Attempt) -> None:
        a.cancelled = True
        if a.outcome is not None:          # finished while disconnected: just forget it
            self._finish(a)
        elif a.current is not None:
            current = a.current
            if a.phase not in ("downloading", "uploading"):
                a.backend.cancel(a.job)
            if not current.called:
                current.cancel()

    @defer.inlineCallbacks
    def _run(self, a: Attempt):
        outcome = None
        try:
            outcome = yield self._attempt(a)
        except defer.CancelledError:
            log.info("job %s stopped; nothing uploaded", a.label)
        except Gone as e:
            a.result = "gone"
            log.info("job %s: %s; dropping it", a.label, e)
        except BackendFailure as e:
            log.warning("job %s failed (%s): %s", a.label, e.kind, e.message)
            outcome = Failed(*a.key, e.kind, e.message)
        except Exception as e:  # noqa: BLE001 - a bug here must not wedge the slot
            log.exception("job %s failed unexpectedly", a.label)
            outcome = Failed(*a.key, "infrastructure", f"contemplant error: {e}")
        if isinstance(outcome, Failed):
            a.result = outcome.kind
        if a.cancelled:
            a.result = "cancelled"
        a.holds_slot = False
        yield threads.deferToThread(shutil.rmtree, a.workdir, True)
        if outcome is None or a.cancelled:
            self._finish(a)
        elif self.send(outcome):
            self._finish(a)
        else:
            a.phase, a.outcome = "reporting", outcome
            log.info("job %s finished while disconnected; will report it after reconnecting", a.label)

    @defer.inlineCallbacks
    def _attempt(self, a: Attempt):
        job = a.job
        yield threads.deferToThread(a.workdir.mkdir, parents=True, exist_ok=True)
        a.phase = "downloading"
        yield self._step(a, "downloading the ELF",
                         lambda: transfer.download(job.elf_url, a.workdir / ELF_FILE, self.token))
        yield self._step(a, "downloading stdin",
                         lambda: transfer.download(job.stdin_url, a.workdir / STDIN_FILE, self.token))
        a.phase = "proving"
        path = yield self._track(a, defer.maybeDeferred(
            a.backend.prove, job, a.workdir, self._progress_fn(a)))
        # The hierophant may offer the next job as soon as the PUT answers, possibly before
        # that answer reaches us: the slot is free once the backend is done.
        a.holds_slot = False
        a.phase, a.percent = "uploading", None
        code, text = yield self._step(a, "uploading the proof",
                                      lambda: transfer.upload(job.proof_upload_url, path, self.token))
        return self._upload_outcome(a, code, text)

    def _upload_outcome(self, a: Attempt, code: int, text: str) -> Optional[Message]:
        if 200 <= code < 300:
            log.info("job %s uploaded (HTTP %d)", a.label, code)
            a.result = "completed"
            return Completed(*a.key)
        if code == 409:
            log.info("job %s: the hierophant no longer wants this attempt (409: %s)", a.label, text)
            a.result = "gone"
            return None
        if code == 422:
            a.result = "rejected"
            log.error("job %s: the hierophant rejected the proof (422): %s", a.label, text)
            return None
        log.error("job %s: proof upload answered HTTP %d: %s", a.label, code, text)
        return Failed(*a.key, "infrastructure", f"proof upload answered HTTP {code}: {text}")

    @defer.inlineCallbacks
    def _step(self, a: Attempt, what: str, attempt: Callable[[], defer.Deferred]):
        """One HTTP step, retried on transient errors until the job's deadline."""
        backoff = transfer.Backoff(*self.http_backoff)
        try:
            result = yield self._track(a, transfer.retry_until(
                a.job.deadline, f"job {a.label}: {what}", attempt, backoff, self.clock, self.now))
        except transfer.HttpStatus as e:
            if e.code in GONE_CODES:
                raise Gone(f"{what} answered HTTP {e.code} ({e.reason})") from None
            raise BackendFailure("infrastructure", f"{what} failed: {e}") from None
        except transfer.TRANSIENT as e:
            raise BackendFailure("infrastructure", f"{what} failed until the deadline: {e}") from None
        return result

    @defer.inlineCallbacks
    def _track(self, a: Attempt, d: defer.Deferred):
        if a.cancelled:
            d.cancel()
        a.current = d
        try:
            result = yield d
        finally:
            a.current = None
        if a.cancelled:
            raise defer.CancelledError()
        return result

    def _progress_fn(self, a: Attempt):
        def progress(phase: str, percent: Optional[float] = None, cycles: Optional[int] = None) -> None:
            if a.cancelled or a.key not in self.table:
                return
            a.phase, a.percent = phase, percent
            now = self.clock.seconds()
            if phase == a.last_phase and now - a.last_progress < PROGRESS_MIN_INTERVAL_SECS:
                return
            a.last_progress, a.last_phase = now, phase
            self.send(Progress(*a.key, phase=phase, percent=percent, cycles=cycles))
        return progress

    def _finish(self, a: Attempt) -> None:
        if self.table.get(a.key) is a:
            del self.table[a.key]
            self.metrics.job_finished(a.result, self.clock.seconds() - a.received_at)
            a.done.callback(None)
