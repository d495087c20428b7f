"""Artifact index (on the reactor) and artifact files (under data_dir/artifacts).

Files are written to `tmp/` and renamed into place after fsync, so a stored artifact is
always whole. `artifact_uri` values are ids, never links (DESIGN.md "Artifacts"); uploads
use a separate unguessable token, proofs a separate unguessable download token.
ArtifactIndex owns the Artifact records: a new value is visible only after its commit.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace
from pathlib import Path

from twisted.internet import defer, threads

from hierophant.model import Artifact, ArtifactKind, new_token, now
from hierophant.store import Store

log = logging.getLogger(__name__)

# A PROGRAM artifact is bincode(ELF): a u64 length, then the ELF (sdk-network-contract.md §4.3).
# Workers and the executor read the raw ELF: skip these bytes.
ELF_OFFSET = 8

# Prefixes make ids readable for operators; the rest is random.
_PREFIX = {
    ArtifactKind.PROGRAM: "program", ArtifactKind.STDIN: "stdin", ArtifactKind.PROOF: "proof",
    ArtifactKind.PRIVATE_STDIN: "private-stdin",
}


class ArtifactFiles:
    """Where artifact bytes live on disk; every method may block (call from a thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, artifact_id: str) -> Path:
        return self.root / artifact_id

    def new_temp(self) -> Path:
        return self.tmp / f"upload-{secrets.token_hex(12)}"

    def commit(self, temp: Path, artifact_id: str) -> None:
        """Atomically move a fully written, fsynced temp file into place."""
        os.replace(temp, self.path(artifact_id))
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self, artifact_id: str) -> None:
        try:
            self.path(artifact_id).unlink()
        except FileNotFoundError:
            pass

    def clear_temp(self) -> int:
        """Drop partial uploads left by a crash; their upload URLs stay usable."""
        n = 0
        for p in self.tmp.iterdir():
            p.unlink(missing_ok=True)
            n += 1
        return n


class ArtifactIndex:
    """Reactor-owned table of artifacts, persisted through the store."""

    def __init__(self, store: Store, files: ArtifactFiles, artifacts: list[Artifact], reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.store = store
        self.files = files
        self._by_id: dict[str, Artifact] = {a.id: a for a in artifacts}
        self._by_upload = {a.upload_token: a for a in artifacts if a.upload_token}
        self._by_download = {a.download_token: a for a in artifacts if a.download_token}

    def all(self) -> list[Artifact]:
        return list(self._by_id.values())

    def get(self, artifact_id: str) -> Artifact | None:
        return self._by_id.get(artifact_id)

    def by_upload_token(self, token: str) -> Artifact | None:
        return self._by_upload.get(token)

    def by_download_token(self, token: str) -> Artifact | None:
        return self._by_download.get(token)

    def new(self, kind: ArtifactKind, owner: bytes, uploadable: bool = True) -> Artifact:
        prefix = _PREFIX.get(kind, "artifact")
        return Artifact(
            id=f"{prefix}_{secrets.token_hex(16)}", kind=kind, owner=owner, created_at=now(),
            upload_token=new_token() if uploadable else None,
            download_token=new_token() if kind == ArtifactKind.PROOF else None,
        )

    @defer.inlineCallbacks
    def create(self, kind: ArtifactKind, owner: bytes) -> defer.Deferred:
        """Mint and persist an uploadable artifact; its upload URL survives restarts."""
        artifact = self.new(kind, owner)
        yield self.store.write(put=[artifact])
        self._add(artifact)
        return artifact

    def _add(self, artifact: Artifact) -> None:
        self._by_id[artifact.id] = artifact
        if artifact.upload_token:
            self._by_upload[artifact.upload_token] = artifact
        if artifact.download_token:
            self._by_download[artifact.download_token] = artifact

    @defer.inlineCallbacks
    def store_file(self, artifact: Artifact, temp: Path, size: int, wire_sha256: bytes) -> defer.Deferred:
        """Move a finished temp file into place, then mark the artifact complete (durably).
        Fires with the new (complete) Artifact value."""
        done = yield self.place_file(artifact, temp, size, wire_sha256)
        yield self.store.write(put=[done])
        self.adopt(done)
        return done

    @defer.inlineCallbacks
    def place_file(self, artifact: Artifact, temp: Path, size: int, wire_sha256: bytes) -> defer.Deferred:
        """Move a finished temp file into place; fires with the complete Artifact value, which
        the caller writes (e.g. in the same transaction as the record that refers to it) and
        then hands to `adopt`. Until then nobody sees it."""
        yield self._in_thread(self.files.commit, temp, artifact.id)
        return replace(artifact, complete=True, size=size, wire_sha256=wire_sha256, completed_at=now())

    def adopt(self, artifact: Artifact) -> None:
        """Make an artifact value visible; call only after the store committed it."""
        self._add(artifact)

    def discard_file(self, artifact: Artifact) -> defer.Deferred:
        """Remove the file of an artifact that was placed but never written."""
        return self._in_thread(self.files.remove, artifact.id)

    @defer.inlineCallbacks
    def delete(self, artifacts: list[Artifact]) -> defer.Deferred:
        if not artifacts:
            return
        yield self.store.write(delete=artifacts)
        for a in artifacts:
            self._by_id.pop(a.id, None)
            if a.upload_token:
                self._by_upload.pop(a.upload_token, None)
            if a.download_token:
                self._by_download.pop(a.download_token, None)
        yield self._in_thread(lambda: [self.files.remove(a.id) for a in artifacts])

    def _in_thread(self, f, *args) -> defer.Deferred:
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), f, *args)

    def path(self, artifact: Artifact) -> Path:
        return self.files.path(artifact.id)

    def elf(self, artifact_id: str) -> tuple[Path, int] | None:
        """(path, bytes to skip) of a program artifact's raw ELF, or None if it is gone."""
        a = self._by_id.get(artifact_id)
        return (self.files.path(a.id), ELF_OFFSET) if a is not None else None
