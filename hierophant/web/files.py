"""Serving stored artifacts: local files through a pull producer that reads large chunks,
blobs of a remote store (S3) through a push producer that reads on a pool thread.

Local reads happen on the reactor but are bounded (one CHUNK per call from page cache, well
under a millisecond), and the transport pulls the next chunk only when its buffer drained.
Remote reads (which may wait on the network) run one CHUNK at a time in a thread; the next
starts only after the previous chunk was written and while the transport is not paused.
"""
from __future__ import annotations

from pathlib import Path

from twisted.internet import interfaces, threads
from twisted.python import log as tlog
from twisted.web import server
from zope.interface import implementer

CHUNK = 1 << 20


@implementer(interfaces.IPullProducer)
class FileProducer:
    def __init__(self, request: server.Request, f, offset: int = 0, length: int | None = None) -> None:
        self.request = request
        self.f = f
        self.f.seek(offset)
        self.remaining = length

    def start(self) -> None:
        self.request.registerProducer(self, False)

    def resumeProducing(self) -> None:
        if self.request is None:
            return
        n = CHUNK if self.remaining is None else min(CHUNK, self.remaining)
        data = self.f.read(n) if n else b""
        if data:
            if self.remaining is not None:
                self.remaining -= len(data)
            self.request.write(data)
        if not data or self.remaining == 0:
            self._done()

    def stopProducing(self) -> None:
        self.f.close()
        self.request = None

    def _done(self) -> None:
        request, self.request = self.request, None
        self.f.close()
        request.unregisterProducer()
        request.finish()


def serve_file(request: server.Request, path: Path, skip: int = 0,
               content_type: bytes = b"application/octet-stream") -> bytes | int:
    """Stream `path` (minus its first `skip` bytes) as the response body."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        request.setResponseCode(404)
        return b"artifact file is missing\n"
    size = max(0, path.stat().st_size - skip)
    request.setHeader(b"content-type", content_type)
    request.setHeader(b"content-length", b"%d" % size)
    if request.method == b"HEAD":
        f.close()
        return b""
    FileProducer(request, f, skip, size).start()
    return server.NOT_DONE_YET


@implementer(interfaces.IPushProducer)
class ThreadedReadProducer:
    """Streams a blocking reader (an S3 object body) to `request`, reading in a pool thread."""

    def __init__(self, request: server.Request, reader, length: int) -> None:
        self.request, self.reader, self.remaining = request, reader, length
        self._paused = False
        self._reading = False
        self._stopped = False

    def start(self) -> None:
        self.request.registerProducer(self, True)
        self._read_next()

    def _read_next(self) -> None:
        if self._paused or self._reading or self._stopped:
            return
        if self.remaining <= 0:
            self._finish()
            return
        self._reading = True
        d = threads.deferToThread(self.reader.read, min(CHUNK, self.remaining))
        d.addCallbacks(self._got, self._failed)

    def _got(self, data: bytes) -> None:
        self._reading = False
        if self._stopped:
            return
        if not data:
            self._failed(None)      # the store ended early: cut the response short
            return
        self.remaining -= len(data)
        self.request.write(data)
        self._read_next()

    def _failed(self, failure) -> None:
        self._reading = False
        if failure is not None:
            tlog.err(failure, "reading a stored artifact failed mid-download")
        if not self._stopped:
            self._stopped = True
            self.request.unregisterProducer()
            self.request.loseConnection()   # the client sees a short body, never a wrong one
        threads.deferToThread(self.reader.close)

    def _finish(self) -> None:
        self._stopped = True
        self.request.unregisterProducer()
        self.request.finish()
        threads.deferToThread(self.reader.close)

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._read_next()

    def stopProducing(self) -> None:
        if not self._stopped:
            self._stopped = True
            threads.deferToThread(self.reader.close)


def serve_blob(request: server.Request, blobs, blob_id: str, skip: int = 0,
               content_type: bytes = b"application/octet-stream") -> bytes | int:
    """Stream the blob `blob_id` of the blob store `blobs` (minus its first `skip` bytes)."""
    if blobs.local:
        return serve_file(request, blobs.path(blob_id), skip, content_type)
    gone: list = []
    request.notifyFinish().addErrback(gone.append)    # the client went away first
    d = threads.deferToThread(blobs.open, blob_id, skip)
    d.addCallbacks(lambda opened: _stream(request, gone, *opened, content_type),
                   lambda f: None if gone else _unavailable(request, f))
    return server.NOT_DONE_YET


def _stream(request: server.Request, gone: list, size: int, reader, content_type: bytes) -> None:
    if gone:
        threads.deferToThread(reader.close)
        return
    request.setHeader(b"content-type", content_type)
    request.setHeader(b"content-length", b"%d" % size)
    if request.method == b"HEAD":
        threads.deferToThread(reader.close)
        request.finish()
        return
    ThreadedReadProducer(request, reader, size).start()


def _unavailable(request: server.Request, failure) -> None:
    from hierophant.errors import StoreUnavailable
    if failure.check(FileNotFoundError):
        code, message = 404, "artifact file is missing"
    elif failure.check(StoreUnavailable):
        code, message = 503, str(failure.value)
    else:
        tlog.err(failure, "opening a stored artifact failed")
        code, message = 500, "internal error reading the artifact"
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.write((message + "\n").encode())
    request.finish()
