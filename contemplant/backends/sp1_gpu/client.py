"""One persistent connection to an sp1-gpu-server (prover-backends.md §1.2-§1.3).

`ServerClient` frames requests, reassembles u32-LE-framed replies (linear in the reply size:
Core proofs can be hundreds of MB) and answers each request with a Deferred, strictly in
order. `connect` retries patiently: CUDA start-up takes seconds (§1.1).
"""
from __future__ import annotations

import logging
import struct
from collections import deque
from typing import Callable, Optional

from twisted.internet import defer, error, protocol
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.python.failure import Failure

from contemplant.backends.sp1_gpu import wire

log = logging.getLogger("contemplant.sp1_gpu")


class ServerGone(Exception):
    """The connection closed (server crash, kill or restart) before a reply came."""


class ServerClient(protocol.Protocol):
    """Requests out, replies back in order; `lost` fires once the connection is gone."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._need: Optional[int] = None      # payload length of the frame being read
        self._pending: deque[defer.Deferred] = deque()
        self.lost: defer.Deferred = defer.Deferred()
        self.closed = False
        self.closed_by_us = False

    # -- requests -----------------------------------------------------------------------------
    def request(self, payload: bytes) -> defer.Deferred:
        """Deferred[wire.Response] for one request payload (framed here)."""
        if self.closed:
            return defer.fail(ServerGone("the connection to sp1-gpu-server is closed"))
        d: defer.Deferred = defer.Deferred()
        self._pending.append(d)
        self.transport.write(wire.frame(payload))
        return d

    def close(self) -> None:
        if not self.closed:
            self.closed_by_us = True
            self.transport.loseConnection()

    # -- Protocol -------------------------------------------------------------------------------
    def dataReceived(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        while self._frame_ready():
            payload = self._take_payload()
            self._answer(payload)

    def _frame_ready(self) -> bool:
        if self._need is None and self._buffered >= 4:
            head = self._take(4)
            self._need = struct.unpack("<I", head)[0]
        return self._need is not None and self._buffered >= self._need

    def _take_payload(self) -> bytes:
        payload = self._take(self._need or 0)
        self._need = None
        return payload

    def _take(self, n: int) -> bytes:
        data = b"".join(self._chunks)
        self._chunks = [data[n:]] if len(data) > n else []
        self._buffered = len(data) - n
        return data[:n]

    def _answer(self, payload: bytes) -> None:
        if not self._pending:
            log.warning("sp1-gpu-server sent an unrequested reply of %d bytes; closing", len(payload))
            self.close()
            return
        d = self._pending.popleft()
        try:
            d.callback(wire.decode_response(payload))
        except wire.MalformedResponse as e:
            # The stream can no longer be trusted: fail this request and start afresh.
            d.errback(e)
            self.close()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.closed = True
        pending, self._pending = self._pending, deque()
        for d in pending:
            d.errback(ServerGone(f"sp1-gpu-server closed the connection ({reason.getErrorMessage()})"))
        self.lost.callback(None)


class _Factory(protocol.Factory):
    protocol = ServerClient
    noisy = False


@defer.inlineCallbacks
def connect(reactor, socket_path: str, timeout: float, give_up: Callable[[], Optional[str]] = lambda: None,
            interval: float = 0.1, max_interval: float = 1.0):
    """Deferred[ServerClient]: retry connecting until `timeout` s have passed or `give_up()`
    returns a reason (e.g. the spawned server exited)."""
    deadline = reactor.seconds() + timeout
    endpoint = UNIXClientEndpoint(reactor, socket_path, timeout=5)
    while True:
        try:
            client = yield endpoint.connect(_Factory())
            return client
        except (error.ConnectError, OSError) as e:
            last = e
        reason = give_up()
        if reason:
            raise ServerGone(reason)
        if reactor.seconds() >= deadline:
            raise ServerGone(f"no sp1-gpu-server accepted a connection at {socket_path} within "
                             f"{timeout:.0f} s ({last})")
        yield deferLater(reactor, interval)
        interval = min(interval * 1.5, max_interval)


def deferLater(reactor, delay: float) -> defer.Deferred:
    from twisted.internet import task
    return task.deferLater(reactor, delay, lambda: None)
