"""Proof intake: the job-scoped proof PUT is the completion (docs/worker-protocol.md).

`ProofIntake.accept` takes a finished upload body for a job token, asks the `ProofChecker`
whether the file is an acceptable proof for the request ("check this proof file for this
request" happens in `ProofChecker.check`, and nowhere else), stores it, and hands the verdict
to the attempt's owner (the scheduler, through the small `Attempts` interface). The checker is
chosen by the composition root (hierophant.service): `StructureChecker` by default; a
verifier (process pool, cryptographic checks) plugs in with the same `check` method.
Runs on the reactor; checks run in a thread or process pool.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from twisted.internet import defer, threads

from hierophant.artifacts import ArtifactIndex
from hierophant.metrics import HierophantMetrics
from hierophant.model import Artifact, ArtifactKind, ProofRequest, rid_hex
from hierophant.spool import Outcome, Spool, SpoolError
from hierophant.workers.acceptance import check_proof_file

log = logging.getLogger("hierophant.intake")

NOT_CURRENT = "this job attempt is no longer current (superseded, cancelled or finished)"


@dataclass(frozen=True)
class CheckResult:
    """A checker's verdict: `problem` None means acceptable; `checked` says how it was
    checked (DESIGN.md: `verified`, `structure` or `mock`), recorded in the proof history."""
    problem: str | None = None
    checked: str = "structure"
    detail: str = ""                  # what the check found (a verifier's reason), for the history
    foreign_vkey: str | None = None   # the proof verifies, but for this other program vkey (issue 10)


class ProofChecker(Protocol):
    def check(self, request: ProofRequest, path: Path) -> defer.Deferred:
        """Fires with a CheckResult for the proof file at `path` (never blocks the reactor)."""


class StructureChecker:
    """The proof's structure, mode, circuit version and (when executed) public values, in a
    thread (hierophant.workers.acceptance)."""

    def __init__(self, reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor

    def check(self, request: ProofRequest, path: Path) -> defer.Deferred:
        pv = request.extra.get("public_values")
        expected = bytes.fromhex(pv) if isinstance(pv, str) else None
        d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), check_proof_file,
                                      path, request.mode, request.circuit_version, expected)
        return d.addCallback(lambda problem: CheckResult(problem, "structure"))


class Attempts(Protocol):
    """What intake needs of the attempts' owner (hierophant.workers.scheduler.Scheduler)."""

    def current(self, token: str) -> ProofRequest | None: ...

    def proof_refused(self, request_id: bytes, token: str, problem: str) -> None: ...

    def proof_accepted(self, request_id: bytes, token: str, artifact: Artifact,
                       checked: str, detail: str = "") -> defer.Deferred:
        """FULFILLED with `artifact` (placed, not yet written: it is written with the request)."""

    def proof_for_another_program(self, request_id: bytes, token: str, vkey: str,
                                  problem: str) -> defer.Deferred:
        """The proof verifies for another program's vkey (no strike; retried once elsewhere)."""


class ProofIntake:
    def __init__(self, attempts: Attempts, artifacts: ArtifactIndex, checker: ProofChecker, reactor=None,
                 metrics: HierophantMetrics | None = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.attempts, self.artifacts, self.checker = attempts, artifacts, checker
        self.metrics = metrics or HierophantMetrics()
        self.reactor = reactor
        self._accepting: set[str] = set()

    def refuse_early(self, token: str) -> Outcome | None:
        """Before the body: 409 unless `token` is a current attempt."""
        return Outcome(409, NOT_CURRENT) if self.attempts.current(token) is None else None

    @defer.inlineCallbacks
    def accept(self, token: str, spool: Spool) -> defer.Deferred:
        """The body arrived: fires with the Outcome to answer the worker with."""
        outcome = yield self._body(token, spool)
        self.metrics.upload("proof", outcome.code, spool.wire_bytes)
        return outcome

    @defer.inlineCallbacks
    def _body(self, token: str, spool: Spool):
        try:
            result = yield spool.finish()
        except SpoolError as e:
            return Outcome(e.code, str(e))
        if self.attempts.current(token) is None or token in self._accepting:
            yield self._unlink(result.path)
            return Outcome(409, NOT_CURRENT)
        self._accepting.add(token)
        try:
            outcome = yield self._accept(token, result)
        finally:
            self._accepting.discard(token)
        return outcome

    @defer.inlineCallbacks
    def _accept(self, token: str, result) -> defer.Deferred:
        r = self.attempts.current(token)
        started = time.perf_counter()
        verdict = yield self.checker.check(r, result.path)
        self.metrics.proof_checked("refused" if verdict.problem else verdict.checked, time.perf_counter() - started)
        if self.attempts.current(token) is None:
            yield self._unlink(result.path)
            return Outcome(409, verdict.problem or "the attempt was superseded while its proof was being checked")
        if verdict.foreign_vkey:
            yield self._unlink(result.path)
            yield self.attempts.proof_for_another_program(r.request_id, token, verdict.foreign_vkey,
                                                          verdict.problem or "")
            return Outcome(422, f"proof refused: {verdict.problem}")
        if verdict.problem:
            yield self._unlink(result.path)
            self.attempts.proof_refused(r.request_id, token, verdict.problem)
            return Outcome(422, f"proof refused: {verdict.problem}")
        artifact = self.artifacts.new(ArtifactKind.PROOF, b"", uploadable=False)
        artifact = yield self.artifacts.place_file(artifact, result.path, result.size, result.wire_sha256)
        if self.attempts.current(token) is None:
            yield self.artifacts.discard_file(artifact)
            return Outcome(409, "the attempt was superseded while its proof was being stored")
        # The proof's record commits with FULFILLED, in one transaction.
        yield self.attempts.proof_accepted(r.request_id, token, artifact, verdict.checked, verdict.detail)
        log.info("request %s fulfilled (%d bytes, attempt %d, proof checked: %s%s)", rid_hex(r.request_id),
                 result.size, r.attempt, verdict.checked, f", {verdict.detail}" if verdict.detail else "")
        return Outcome(200, "proof accepted")

    def _unlink(self, path: Path) -> defer.Deferred:
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), path.unlink, missing_ok=True)
