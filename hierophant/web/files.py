"""Serving stored files: a pull producer that reads large chunks.

Reads happen on the reactor but are bounded (one CHUNK per call from page cache, well
under a millisecond), and the transport pulls the next chunk only when its buffer drained.
"""
from __future__ import annotations

from pathlib import Path

from twisted.internet import interfaces
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
