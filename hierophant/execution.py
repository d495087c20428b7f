"""Execution alongside proving (DESIGN.md "Failure rules"; issue: executor).

Every new request is executed in the process pool while its first attempt is dispatched,
never in front of it. A guest failure (panic, cycle limit, bad syscall) ends the request
UNFULFILLABLE + UNEXECUTABLE and cancels the running attempt; success records the cycles
and the public values (hash in status and details; the values themselves check the proof),
and tells the worker `total_cycles`. A verdict that arrives after the request was given up
(its attempts spent first) is still recorded. Programs above `[execution] max_cycles` get no
verdict.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Callable

from twisted.internet import defer, threads

from hierophant.artifacts import ArtifactIndex
from hierophant.config import ExecutionConfig
from hierophant.metrics import HierophantMetrics
from hierophant.model import Execution, Fulfillment, ProofRequest, rid_hex
from hierophant.requests import RequestBook
from network_lib.executor.pool import ExecutionPool, Verdict

log = logging.getLogger("hierophant.execution")


class Executions:
    """Runs on the reactor; the executions themselves run in the process pool."""

    def __init__(self, cfg: ExecutionConfig, book: RequestBook, artifacts: ArtifactIndex,
                 on_executed: Callable[[ProofRequest], None] | None = None,
                 metrics: HierophantMetrics | None = None) -> None:
        self.cfg = cfg
        self.metrics = metrics or HierophantMetrics()
        self.book, self.artifacts = book, artifacts
        self.pool = ExecutionPool(cfg.processes)
        self.on_executed = on_executed or (lambda r: None)   # the scheduler's job_update hook
        self.running: dict[bytes, defer.Deferred] = {}
        if cfg.enabled:
            book.on_new.append(self.start)

    def resume(self) -> None:
        """After a restart: execute live requests that had no verdict yet."""
        for r in self.book.live():
            if r.execution == Execution.UNEXECUTED and not r.extra.get("execution_no_verdict"):
                self.start(r)

    def start(self, r: ProofRequest) -> None:
        if not self.cfg.enabled or r.request_id in self.running:
            return
        elf = self.artifacts.elf(r.program_artifact)
        stdin = self.artifacts.get(r.stdin_artifact)
        if elf is None or stdin is None:
            return
        rid = r.request_id
        d = self._run(elf, stdin.id, r.cycle_limit)
        self.running[rid] = d
        started = time.perf_counter()
        d.addCallbacks(self._count, self._count, callbackArgs=(started,), errbackArgs=(started,))
        d.addCallback(self._verdict, rid)
        d.addErrback(lambda f: None if f.check(defer.CancelledError)      # stopping
                     else log.error("execution of %s failed\n%s", rid_hex(rid), f.getTraceback()))
        d.addBoth(lambda _: self.running.pop(rid, None))

    @defer.inlineCallbacks
    def _run(self, elf: tuple[str, int], stdin_id: str, cycle_limit: int):
        """Execute with local copies of the inputs (the files themselves, or fetched from S3)."""
        blobs = self.artifacts.files
        program = yield threads.deferToThread(blobs.materialize, elf[0])
        try:
            stdin = yield threads.deferToThread(blobs.materialize, stdin_id)
            try:
                verdict = yield self.pool.run(program, elf[1], stdin, cycle_limit, self.cfg.max_cycles)
            finally:
                yield threads.deferToThread(blobs.release, stdin)
        finally:
            yield threads.deferToThread(blobs.release, program)
        return verdict

    def _count(self, v, started: float):
        """Count the verdict (or the pool's failure, passed on) for the metrics."""
        if isinstance(v, Verdict):
            result = "no-verdict" if v.no_verdict else "executed" if v.ok else "unexecutable"
        else:
            result = "error"
        self.metrics.executed(result, time.perf_counter() - started)
        return v

    def _verdict(self, v: Verdict, rid: bytes) -> defer.Deferred | None:
        r = self.book.latest(rid)
        if r is None:
            return None     # forgotten by retention meanwhile
        if v.no_verdict:
            log.info("request %s: execution stopped at %d cycles with no verdict", rid_hex(rid), v.cycles)
            return self.book.update(rid, extra={**r.extra, "execution_no_verdict": True})
        if v.ok:
            log.info("request %s executed: %d cycles, %d bytes of public values", rid_hex(rid), v.cycles,
                     len(v.public_values))
            changes = dict(cycles=v.cycles, public_values_hash=hashlib.sha256(v.public_values).digest(),
                           extra={**r.extra, "public_values": v.public_values.hex(),
                                  "executed_at": round(time.time(), 3)})     # the dashboard's timeline
            if r.fulfillment != Fulfillment.FULFILLED:
                changes["execution"] = Execution.EXECUTED
            return self.book.update(rid, **changes).addCallback(self.on_executed)
        if r.fulfillment == Fulfillment.UNFULFILLABLE:
            # Given up already (attempts spent first): the verdict still says why.
            return self.book.update(rid, execution=Execution.UNEXECUTABLE, execute_fail_cause=v.cause or 0)
        if r.fulfillment != Fulfillment.FULFILLED:
            # Only our own execution declares a program UNEXECUTABLE (DESIGN.md).
            return self.book.give_up(rid, f"the program failed: {v.message}", unexecutable=True,
                                     fail_cause=v.cause or 0)
        return None

    def stop(self) -> defer.Deferred:
        return self.pool.stop()
