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

from twisted.internet import defer

from hierophant.artifacts import ArtifactIndex
from hierophant.config import ExecutionConfig
from hierophant.metrics import HierophantMetrics
from hierophant.model import Execution, Fulfillment, ProofRequest
from hierophant.requests import RequestBook
from network_lib.executor.pool import ExecutionPool, Verdict

log = logging.getLogger("hierophant.execution")


class Executions:
    def __init__(self, cfg: ExecutionConfig, book: RequestBook, artifacts: ArtifactIndex,
                 on_executed=None, metrics: HierophantMetrics | None = None) -> None:
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
        program = self.artifacts.get(r.program_artifact)
        stdin = self.artifacts.get(r.stdin_artifact)
        if program is None or stdin is None:
            return
        d = self.pool.run(self.artifacts.path(program), 8, self.artifacts.path(stdin),
                          r.cycle_limit, self.cfg.max_cycles)
        self.running[r.request_id] = d
        started = time.perf_counter()
        d.addCallbacks(self._count, self._count, callbackArgs=(started,), errbackArgs=(started,))
        d.addCallback(self._verdict, r)
        d.addErrback(lambda f: log.error("execution of %s failed inside the pool: %s",
                                         _rid(r), f.getErrorMessage()))
        d.addBoth(lambda _: self.running.pop(r.request_id, None))

    def _count(self, v, started: float):
        """Count the verdict (or the pool's failure, passed on) for the metrics."""
        if isinstance(v, Verdict):
            result = "no-verdict" if v.no_verdict else "executed" if v.ok else "unexecutable"
        else:
            result = "error"
        self.metrics.executed(result, time.perf_counter() - started)
        return v

    @defer.inlineCallbacks
    def _verdict(self, v: Verdict, r: ProofRequest):
        if self.book.get(r.request_id) is not r:
            return      # forgotten by retention meanwhile
        if v.no_verdict:
            log.info("request %s: execution stopped at %d cycles with no verdict", _rid(r), v.cycles)
            r.extra["execution_no_verdict"] = True
            yield self.book.update(r)
        elif v.ok:
            pv_hash = hashlib.sha256(v.public_values).digest()
            r.extra["public_values"] = v.public_values.hex()
            log.info("request %s executed: %d cycles, %d bytes of public values", _rid(r), v.cycles,
                     len(v.public_values))
            if r.fulfillment != Fulfillment.FULFILLED:
                yield self.book.update(r, execution=Execution.EXECUTED, cycles=v.cycles,
                                       public_values_hash=pv_hash)
            else:
                yield self.book.update(r, cycles=v.cycles, public_values_hash=pv_hash)
            self.on_executed(r)
        elif r.fulfillment == Fulfillment.UNFULFILLABLE:
            # Given up already (attempts spent first): the verdict still says why.
            yield self.book.update(r, execution=Execution.UNEXECUTABLE, execute_fail_cause=v.cause or 0)
        elif r.fulfillment != Fulfillment.FULFILLED:
            # Only our own execution declares a program UNEXECUTABLE (DESIGN.md).
            yield self.book.give_up(r, f"the program failed: {v.message}", unexecutable=True,
                                    fail_cause=v.cause or 0)

    def stop(self) -> defer.Deferred:
        return self.pool.stop()


def _rid(r: ProofRequest) -> str:
    return "0x" + r.request_id.hex()
