"""Upload URL semantics (DESIGN.md "Artifacts"), on the reactor.

An upload URL stays usable until one upload completes; after that the same bytes answer
200 and different bytes 409. Its state is persisted, so it survives a restart (the SDK
retries uploads for 120 s, sdk-network-contract.md §6.3).
"""
from __future__ import annotations

import logging

from twisted.internet import defer, threads

from hierophant.artifacts import ArtifactIndex
from hierophant.metrics import HierophantMetrics
from hierophant.model import Artifact, ArtifactKind
from hierophant.spool import Outcome, Spool, SpoolError, SpoolResult

log = logging.getLogger(__name__)

__all__ = ["Outcome", "Uploads", "validate"]


class Uploads:
    def __init__(self, index: ArtifactIndex, max_wire: int, max_decoded: int, reactor=None,
                 metrics: HierophantMetrics | None = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.metrics = metrics or HierophantMetrics()
        self.index = index
        self.max_wire = max_wire
        self.max_decoded = max_decoded
        self._completing: dict[str, defer.Deferred] = {}

    def refuse_early(self, token: str, declared_length: int | None) -> Outcome | None:
        """Answers that need no body: unknown URL, or a declared length over the limit."""
        if self.index.by_upload_token(token) is None:
            return Outcome(404, "unknown upload URL")
        if declared_length is not None and declared_length > self.max_wire:
            return Outcome(413, f"artifact of {declared_length} bytes exceeds "
                                f"limits.max_artifact_bytes ({self.max_wire} bytes)")
        return None

    def route(self, request, token: str, length: int | None, open_spool):
        """Body route of PUT /upload/<token> (hierophant/web/request.py)."""
        return self.refuse_early(token, length) or open_spool()

    def open_spool(self, pause, resume) -> Spool:
        return Spool(self.index.files.new_temp(), self.max_wire, self.max_decoded,
                     pause, resume, self.reactor.callFromThread, self.reactor.callInThread)

    @defer.inlineCallbacks
    def complete(self, token: str, spool: Spool) -> defer.Deferred:
        """The body has arrived: store it, or say why not. Fires with an Outcome."""
        artifact = self.index.by_upload_token(token)
        outcome = yield self._complete(token, artifact, spool)
        kind = artifact.kind.name.lower() if artifact is not None else "unknown"
        self.metrics.upload(kind, outcome.code, spool.wire_bytes)
        return outcome

    @defer.inlineCallbacks
    def _complete(self, token: str, artifact: Artifact | None, spool: Spool):
        try:
            result = yield spool.finish()
        except SpoolError as e:
            log.info("upload %s refused: %s", artifact.id if artifact else token[:8], e)
            return Outcome(e.code, str(e))
        if artifact is None:  # deleted by retention while uploading
            yield _remove(result)
            return Outcome(404, "unknown upload URL")
        # One completion at a time per artifact, so concurrent PUTs compare correctly.
        while artifact.id in self._completing:
            yield self._completing[artifact.id]
        d = self._completing[artifact.id] = defer.Deferred()
        try:
            outcome = yield self._store(self.index.get(artifact.id) or artifact, result)
        finally:
            del self._completing[artifact.id]
            d.callback(None)
        return outcome

    @defer.inlineCallbacks
    def _store(self, artifact: Artifact, result: SpoolResult) -> defer.Deferred:
        if artifact.complete:
            yield _remove(result)
            if result.wire_sha256 == artifact.wire_sha256:
                return Outcome(200, "already uploaded (same bytes)")
            return Outcome(409, "this upload URL already holds different bytes")
        problem = validate(artifact.kind, result)
        if problem:
            yield _remove(result)
            return Outcome(400, problem)
        yield self.index.store_file(artifact, result.path, result.size, result.wire_sha256)
        log.info("stored %s: %d bytes%s", artifact.id, result.size,
                 f" (zstd, {result.wire_bytes} on the wire)" if result.compressed else "")
        return Outcome(200, "stored")


def validate(kind: ArtifactKind, result: SpoolResult) -> str | None:
    """Cheap checks of the decoded content (sdk-network-contract.md §4.3)."""
    if kind == ArtifactKind.PROGRAM:
        head = result.head
        if len(head) < 12 or int.from_bytes(head[:8], "little") != result.size - 8:
            return "a program artifact must be bincode(ELF): a u64 length then the ELF bytes"
        if head[8:12] != b"\x7fELF":
            return "a program artifact must hold an ELF file (no \\x7fELF magic after the length)"
    if kind in (ArtifactKind.STDIN, ArtifactKind.PRIVATE_STDIN) and result.size < 24:
        return "a stdin artifact must be bincode(SP1Stdin) (at least 24 bytes)"
    return None


def _remove(result: SpoolResult) -> defer.Deferred:
    return threads.deferToThread(result.path.unlink, missing_ok=True)
