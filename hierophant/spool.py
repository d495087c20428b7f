"""Streams an HTTP request body to disk on a writer thread, zstd-decoding as it goes; and
`Outcome`, the answer a body's consumer gives (HTTP code + message). Neutral ground: the web
layer feeds a Spool, the domain (uploads, proof intake) finishes it and answers an Outcome.

The reactor only hands chunks over; a per-upload thread decodes zstd
(sdk-network-contract.md §4.2: 6.x uploads are zstd frames without a content size, so
decoding must be streaming) and writes the file, while a second one hashes the wire bytes
alongside (hashing, decoding and writing all release the GIL, so they overlap). The decoded
size is checked as each chunk is written, so a zstd bomb stops at `max_decompressed` bytes
and never fills memory or disk. The file's writeback is started every WRITEBACK_STEP bytes,
so the final fsync has little left to flush. When the writer falls behind, the socket is
paused (back-pressure), so memory stays bounded: at most about HIGH_WATER bytes queued for
the writer plus HASH_LAG chunks queued for the hasher.
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import zstandard
from twisted.internet import defer

from network_lib.zstd_frames import FrameTracker, ZstdFormatError

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
HIGH_WATER = 8 << 20    # bytes queued for the writer before the socket is paused
LOW_WATER = 2 << 20     # ... and below which it is resumed
HASH_LAG = 8            # chunks the hasher may fall behind the writer before the writer waits
WRITEBACK_STEP = 16 << 20
SMALL_BODY = 256 << 10  # bodies up to this size are written by a pooled thread, no threads of their own
_END = object()


@dataclass(frozen=True)
class Outcome:
    """What a body's consumer answers: an HTTP status and a message naming the reason."""
    code: int
    message: str


class SpoolError(Exception):
    """The body could not be stored; `code` is the HTTP status to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SpoolResult:
    path: Path
    size: int            # decoded bytes written
    wire_bytes: int
    wire_sha256: bytes
    head: bytes          # first bytes of the decoded content, for cheap validation
    compressed: bool


class _LimitedFile:
    """File wrapper that refuses to grow past `limit` bytes (the zstd bomb guard).

    Every WRITEBACK_STEP bytes it asks the kernel to start writing the new bytes out
    (POSIX_FADV_DONTNEED starts writeback of dirty pages without waiting for it), so the
    disk works while the body still arrives and the closing fsync is short.
    """

    def __init__(self, f, limit: int) -> None:
        self.f = f
        self.limit = limit
        self.size = 0
        self.head = b""
        self._written_back = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise SpoolError(413, f"decompressed artifact exceeds limits.max_decompressed_bytes "
                                  f"({self.limit} bytes)")
        if len(self.head) < 16:
            self.head += data[: 16 - len(self.head)]
        n = self.f.write(data)
        if self.size - self._written_back >= WRITEBACK_STEP:
            self._start_writeback()
        return n

    def _start_writeback(self) -> None:
        start, self._written_back = self._written_back, self.size
        if _fadvise is None:
            return
        self.f.flush()
        try:
            _fadvise(self.f.fileno(), start, self.size - start, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass  # advisory only; the closing fsync still makes the file durable


_fadvise = getattr(os, "posix_fadvise", None)


class _Hasher:
    """sha256 of the wire bytes on its own thread, at most HASH_LAG chunks behind
    (or inline, for small bodies, where a thread would cost more than it saves)."""

    def __init__(self, threaded: bool = True) -> None:
        self._digest = hashlib.sha256()
        self._queue: queue.Queue = queue.Queue(maxsize=HASH_LAG)
        self._closed = not threaded
        if threaded:
            self._thread = threading.Thread(target=self._run, name="upload-hash", daemon=True)
            self._thread.start()
        else:
            self.update = self._digest.update

    def _run(self) -> None:
        update, get = self._digest.update, self._queue.get
        while (item := get()) is not None:
            update(item)

    def update(self, data: bytes) -> None:
        self._queue.put(data)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def digest(self) -> bytes:
        self.close()
        return self._digest.digest()


class Spool:
    """Body sink handed to twisted.web as `request.content` (write/tell/seek/read/close)."""

    def __init__(self, path: Path, max_wire: int, max_decoded: int,
                 pause: Callable[[], None], resume: Callable[[], None],
                 call_from_thread: Callable, call_in_thread: Callable | None = None) -> None:
        self.path = path
        self.max_wire = max_wire
        self.max_decoded = max_decoded
        self._pause, self._resume = pause, resume
        self._call = call_from_thread
        self._call_in_thread = call_in_thread
        self._queue: queue.Queue = queue.Queue()
        self._queued = 0            # bytes in _queue; both threads update it under _lock
        self._lock = threading.Lock()
        self._paused = False
        self.wire_bytes = 0
        self.error: SpoolError | None = None
        self._done: defer.Deferred = defer.Deferred()
        self._started = False
        self._dedicated = False

    def _start(self, dedicated: bool) -> None:
        """Start writing: big bodies get their own threads as soon as they are big; small
        ones are written in one go by a pooled thread once complete."""
        if self._started:
            return
        self._started, self._dedicated = True, dedicated
        if dedicated:
            threading.Thread(target=self._run, name="upload-spool", daemon=True).start()
        elif self._call_in_thread is not None:
            self._call_in_thread(self._run)
        else:
            threading.Thread(target=self._run, name="upload-spool", daemon=True).start()

    # -- reactor side ---------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.wire_bytes += len(data)
        if self.error is not None:
            return  # discarding the rest of a refused body
        if self.wire_bytes > self.max_wire:
            self.fail(SpoolError(413, f"artifact exceeds limits.max_artifact_bytes ({self.max_wire} bytes)"))
            return
        with self._lock:
            self._queued += len(data)
            queued = self._queued
        self._queue.put(data)
        if not self._started and self.wire_bytes > SMALL_BODY:
            self._start(dedicated=True)
        if not self._paused and queued > HIGH_WATER:
            self._paused = True
            self._pause()

    def fail(self, error: SpoolError) -> None:
        """Refuse the body: the writer stops and removes its file; later chunks are dropped."""
        if self.error is None:
            self.error = error
            self._queue.put(error)
            self._resume_if_paused()
            self._start(dedicated=False)

    def finish(self) -> defer.Deferred:
        """All body bytes arrived: Deferred firing with SpoolResult, or failing with SpoolError."""
        self._queue.put(_END)
        self._start(dedicated=False)
        return self._done

    def abort(self) -> None:
        """Connection lost mid-body: drop the partial file."""
        self.fail(SpoolError(400, "connection lost before the body was complete"))
        self._done.addErrback(lambda _: None)  # nobody waits for an aborted body

    def _resume_if_paused(self) -> None:
        if self._paused:
            self._paused = False
            self._resume()

    def _drained(self) -> None:
        if self._paused and self._queued <= LOW_WATER:
            self._resume_if_paused()

    def _complete(self, result: SpoolResult | SpoolError) -> None:
        self._resume_if_paused()
        if isinstance(result, SpoolError):
            self._done.errback(result)
        else:
            self._done.callback(result)

    # twisted.web's Request calls these on its content file.
    def tell(self) -> int:
        return self.wire_bytes

    def seek(self, *args) -> None:
        pass

    def read(self, *args) -> bytes:
        return b""

    def close(self) -> None:
        pass

    # -- writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            result: SpoolResult | SpoolError = self._spool()
        except SpoolError as e:
            result = e
        except (zstandard.ZstdError, ZstdFormatError) as e:
            result = SpoolError(400, f"body starts with the zstd magic but is not valid zstd: {e}")
        except OSError as e:
            result = SpoolError(507, f"could not store the artifact: {e}")
        if isinstance(result, SpoolError):
            self.path.unlink(missing_ok=True)
            self._drain_rest()
        self._call(self._complete, result)

    def _next(self):
        item = self._queue.get()
        if isinstance(item, bytes):
            with self._lock:
                self._queued -= len(item)
                queued = self._queued
            if self._paused and queued <= LOW_WATER:
                self._call(self._drained)
        if isinstance(item, SpoolError):
            raise item
        return item

    def _spool(self) -> SpoolResult:
        digest = _Hasher(threaded=self._dedicated)
        try:
            return self._spool_to(digest)
        finally:
            digest.close()

    def _spool_to(self, digest: "_Hasher") -> SpoolResult:
        first = b""
        ended = False   # a body under 4 bytes: _END was already taken off the queue
        # Collect at least 4 bytes to recognise the zstd magic (§4.2).
        while len(first) < 4:
            item = self._next()
            if item is _END:
                ended = True
                break
            first += item
        compressed = first.startswith(ZSTD_MAGIC)
        frames = FrameTracker() if compressed else None
        with open(self.path, "wb") as raw:
            out = _LimitedFile(raw, self.max_decoded)
            sink = (zstandard.ZstdDecompressor().stream_writer(out, write_size=1 << 20, closefd=False)
                    if compressed else out)
            item = first
            while item is not _END:
                digest.update(item)
                if frames is not None:
                    frames.feed(item)
                sink.write(item)
                item = _END if ended else self._next()
            if frames is not None:
                sink.flush()
                if not frames.complete:
                    raise SpoolError(400, "zstd body ends in the middle of a frame (truncated upload?)")
            raw.flush()
            os.fsync(raw.fileno())
        return SpoolResult(self.path, out.size, self.wire_bytes, digest.digest(), out.head, compressed)

    def _drain_rest(self) -> None:
        """After a failure, keep consuming so the reactor side never blocks on a full queue."""
        self.error = self.error or SpoolError(400, "refused")
        while True:
            try:
                item = self._queue.get(timeout=0)
            except queue.Empty:
                return
            if item is _END:
                return
