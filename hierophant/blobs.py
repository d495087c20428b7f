"""The artifact blob store: where artifact bytes live, behind one interface with two
implementations, chosen by `[artifacts] backend`:

- `files` (default): `ArtifactFiles` in hierophant/artifacts.py, files under data_dir/artifacts;
- `s3`: `S3Blobs` in hierophant/s3blobs.py, objects in an S3-compatible bucket.

Either way uploads are spooled (zstd-decoded, size-checked, fsynced) to a local temp file
first (hierophant/web/spool.py); `commit` then makes it durable in the store before the
upload is acknowledged. Every method blocks: call it from a thread, never the reactor —
except `open` of a store whose `local` is True (a local file), which the web layer reads on
the reactor in bounded chunks. Failures to reach the store raise `StoreUnavailable`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    local: bool

    def new_temp(self) -> Path:
        """A fresh local path to spool an upload to."""

    def commit(self, temp: Path, blob_id: str) -> None:
        """Store the fully written temp file as `blob_id` (durably) and consume the temp file."""

    def remove(self, blob_id: str) -> None:
        """Delete `blob_id`; absent is fine."""

    def exists(self, blob_id: str) -> bool: ...

    def open(self, blob_id: str, offset: int = 0) -> tuple[int, BinaryIO]:
        """(bytes from `offset` to the end, a reader of them); FileNotFoundError if absent."""

    def materialize(self, blob_id: str) -> Path:
        """A local file holding the bytes (for the executor), valid until `release(path)`."""

    def release(self, path: Path) -> None: ...

    def clear_temp(self) -> int:
        """At start-up: drop partial uploads a crash left behind; returns how many."""


def open_blobs(cfg, data_dir: Path) -> BlobStore:
    """The blob store `cfg.artifacts` names (blocking: checks an S3 bucket is reachable)."""
    from hierophant.artifacts import ArtifactFiles
    root = data_dir / "artifacts"
    if cfg.artifacts.backend == "files":
        return ArtifactFiles(root)
    from hierophant.s3blobs import S3Blobs
    a = cfg.artifacts
    return S3Blobs(a.s3_endpoint, a.s3_bucket, a.s3_region, root / "tmp",
                   os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY"))
