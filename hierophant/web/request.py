"""twisted.web Request that takes control of request bodies.

twisted.web spools every body to a buffer before a resource sees it. Uploads instead go
straight to a `Spool` (streamed to disk by a writer thread); other paths accept at most
`SMALL_BODY` bytes. Requests refused before their body (unknown upload URL, declared size
over the limit) are answered at once; the rest of the body is read and dropped so the
client sees the answer, then the connection is closed.
"""
from __future__ import annotations

import io

from twisted.web import server

SMALL_BODY = 1 << 20
UPLOAD_READ_SIZE = 1 << 20   # socket read size while an upload body streams in (default 64 KiB)
LINGER_SECS = 30.0
REASONS = {400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed",
           409: b"Conflict", 413: b"Payload Too Large", 507: b"Insufficient Storage"}


class _Discard:
    """Body sink that counts and drops bytes."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, data: bytes) -> None:
        self.n += len(data)

    def tell(self) -> int:
        return self.n

    def seek(self, *a) -> None:
        pass

    def read(self, *a) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _SmallBody(io.BytesIO):
    """In-memory body for non-upload paths, refusing to grow past SMALL_BODY."""

    def __init__(self, request: "HierophantRequest") -> None:
        super().__init__()
        self.request = request

    def write(self, data: bytes) -> int:
        if self.tell() + len(data) > SMALL_BODY:
            self.request.refuse(413, f"request body over {SMALL_BODY} bytes")
            return 0
        return super().write(data)


def _request_line(channel) -> tuple[bytes, bytes]:
    """The method and path of the request whose headers just arrived.

    twisted.web calls `Request.gotLength` (where the body's destination must be chosen)
    before `requestReceived` sets `method` and `uri`; only the channel knows them then, in
    attributes without a public accessor. This is the one place that reads them.
    """
    return channel._command, channel._path


class HierophantRequest(server.Request):
    early_answered = False
    body_spool = None        # the Spool of a routed upload body
    body_key: str | None = None   # the rest of the path after the route's prefix

    def gotLength(self, length: int | None) -> None:
        method, path = _request_line(self.channel)
        if method in (b"PUT", b"POST"):
            found = self.channel.site.body_route(path.split(b"?", 1)[0])
            if found is not None:
                self._route_body(found[0], found[1], length)
                return
        if length is not None and length > SMALL_BODY:
            self.content = _Discard()
            self.refuse(413, f"request body over {SMALL_BODY} bytes")
            return
        self.content = _SmallBody(self)

    def _route_body(self, route, rest: str, length: int | None) -> None:
        """A route answers an Outcome (refused before the body) or opens a Spool."""
        transport = self.channel.transport

        def open_spool():
            return self.channel.site.open_spool(transport.pauseProducing, transport.resumeProducing)

        result = route(self, rest, length, open_spool)
        if hasattr(result, "code"):
            self.content = _Discard()
            self.refuse(result.code, result.message)
            return
        self.content = self.body_spool = result
        self.body_key = rest
        if isinstance(getattr(transport, "bufferSize", None), int):
            # Fewer, larger socket reads: less reactor time per body byte. Restored when done.
            self._read_size = transport.bufferSize
            transport.bufferSize = UPLOAD_READ_SIZE

    def refuse(self, code: int, message: str) -> None:
        """Answer now, before the body; drop the body; close when it ends (or after a while)."""
        if self.early_answered:
            return
        self.early_answered = True
        if not isinstance(self.content, _Discard):
            self.content = _Discard()
        body = (message + "\n").encode()
        head = (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                % (code, REASONS.get(code, b"Error"), len(body)))
        transport = self.channel.transport
        transport.write(head + body)
        self._linger = self.channel.site.reactor.callLater(LINGER_SECS, transport.loseConnection)

    def process(self) -> None:
        if self.early_answered:
            if self._linger.active():
                self._linger.cancel()
            self.channel.transport.loseConnection()
            return
        super().process()

    def _restore_read_size(self) -> None:
        size = getattr(self, "_read_size", None)
        if size is not None:
            self._read_size = None
            self.channel.transport.bufferSize = size

    def connectionLost(self, reason) -> None:
        abort = getattr(self.content, "abort", None)
        if abort is not None and not self.finished and not getattr(self, "_body_done", False):
            abort()
        linger = getattr(self, "_linger", None)
        if linger is not None and linger.active():
            linger.cancel()
        super().connectionLost(reason)

    def requestReceived(self, command, path, version) -> None:
        self._body_done = True
        self._restore_read_size()
        super().requestReceived(command, path, version)
