"""Retention: deletes old artifacts and finished requests so a busy network never fills its disk.

`[retention] proof_days`: finished requests and their proofs are kept this long after they
finished. `input_days`: stdins of finished requests, uploads never used, and programs nobody
requested a proof of for this long (the SDK re-registers a missing program by itself,
sdk-network-contract.md §1.3 A) are deleted after this long. Each deletion goes through the
records' owner (RequestBook, Programs, ArtifactIndex, History).
"""
from __future__ import annotations

import logging

from twisted.application.internet import TimerService
from twisted.internet import defer

from hierophant.artifacts import ArtifactIndex
from hierophant.history import History
from hierophant.model import ArtifactKind, now
from hierophant.programs import Programs
from hierophant.requests import RequestBook

log = logging.getLogger(__name__)
DAY = 86400


class Retention:
    def __init__(self, book: RequestBook, artifacts: ArtifactIndex, programs: Programs,
                 proof_days: float, input_days: float, history: History | None = None) -> None:
        self.book, self.artifacts, self.programs = book, artifacts, programs
        self.history = history       # proof records, pruned with the proofs
        self.proof_secs = proof_days * DAY
        self.input_secs = input_days * DAY
        self._running = False

    @defer.inlineCallbacks
    def sweep(self) -> defer.Deferred:
        """One pass; returns (requests deleted, artifacts deleted, programs deleted)."""
        if self._running:
            return (0, 0, 0)
        self._running = True
        try:
            result = yield self._sweep()
        finally:
            self._running = False
        if any(result):
            log.info("retention: deleted %d finished requests, %d artifacts, %d programs", *result)
        return result

    @defer.inlineCallbacks
    def _sweep(self) -> defer.Deferred:
        t = now()
        proof_cut, input_cut = t - self.proof_secs, t - self.input_secs
        old_requests, kept_requests = [], []
        for r in self.book.all():
            (old_requests if r.terminal and r.updated_at < proof_cut else kept_requests).append(r)
        live = [r for r in kept_requests if not r.terminal]
        live_programs = {r.vk_hash for r in live}
        old_programs, kept_programs = [], []
        for p in self.programs.all():
            (old_programs if p.last_used < input_cut and p.vk_hash not in live_programs
             else kept_programs).append(p)
        in_use = {r.stdin_artifact for r in live} | {r.program_artifact for r in live}
        in_use |= {r.proof_artifact for r in kept_requests if r.proof_artifact}
        in_use |= {p.artifact_id for p in kept_programs}
        doomed = [a for a in self.artifacts.all() if a.id not in in_use and self._expired(a, input_cut, proof_cut)]
        yield self.book.forget(old_requests)
        yield self.programs.forget(old_programs)
        yield self.artifacts.delete(doomed)
        if self.history is not None:
            yield self.history.prune(proof_cut)
        return (len(old_requests), len(doomed), len(old_programs))

    @staticmethod
    def _expired(a, input_cut: float, proof_cut: float) -> bool:
        if a.kind == ArtifactKind.PROOF:
            return (a.completed_at or a.created_at) < proof_cut
        return a.created_at < input_cut


def retention_service(retention: Retention, interval: float) -> TimerService:
    def run():
        return retention.sweep().addErrback(lambda f: log.error("retention sweep failed\n%s", f.getTraceback()))
    return TimerService(interval, run)
