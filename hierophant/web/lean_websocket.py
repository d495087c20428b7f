"""An Autobahn server protocol with a short path for small whole text frames, for 5,000 workers.

Reactor thread. A hierophant with 5,000 idle contemplants reads 500 heartbeats a second
(bench/scheduler_bench.py; issue 9 asks for under 5 % of one core). Measured on this
project's 2-core machine, Twisted's own work per read was about 50 us, and Autobahn's general
frame machine another 60 to 80 us: per frame it walks some thirty attributes of a large
per-connection state, builds a CFFI masker and UTF-8 validator, fires four frame/message hooks
and an observer Deferred, and formats the arguments of a debug log line for every read.

So this class takes the one case a worker's control messages are: a single unfragmented,
masked text frame lying whole in a read that starts between messages of an open connection.
It unmasks it with a few integer operations and calls `onMessage`. Every other case
(control frames, fragments, a frame still arriving, binary, anything over the size limits,
any rule violation, a closing connection) goes to Autobahn's own `_dataReceived`, untouched,
from the first byte it did not take. Handshake, closing, pings and limits stay Autobahn's.

The short path does not validate UTF-8: it runs only with `utf8validateIncoming=False`, and
the message parser must then refuse bad UTF-8 itself (`network_lib.worker_protocol.parse`
does; the socket closes with 4000). It does not count `trafficStats` (nothing here reads
them). It reads Autobahn's attributes `data`, `current_frame`, `inside_message`,
`failedByMe`, `message_data`, `message_is_binary` and the protocol options (autobahn 26.x
`websocket/protocol.py`, `twisted/websocket.py`); tests/unit/test_lean_websocket.py fails if
a later Autobahn renames them.

Frame layout: RFC 6455 section 5.2 (FIN, RSV1-3, opcode; MASK, 7-bit length, 16-bit
extended length when 126; the 4-byte masking key); unmasking: section 5.3.
"""
from __future__ import annotations

from autobahn.twisted.websocket import WebSocketServerProtocol

_TEXT_FIN = 0x81        # FIN set, RSV1-3 clear, opcode 1 (text)


def whole_text_frame(data: bytes, max_payload: int) -> tuple[bytes, int] | None:
    """(unmasked payload, frame length) of the masked text frame that `data` starts with, or
    None when it is anything else, is not all there, or is over `max_payload` bytes (0: no
    limit). RFC 6455 section 5.2 (header), 5.3 (masking)."""
    if len(data) < 6 or data[0] != _TEXT_FIN or not data[1] & 0x80:
        return None
    n, start = data[1] & 0x7F, 2
    if n == 126:                       # 16-bit length, only for 126..65535 (minimal encoding)
        n, start = int.from_bytes(data[2:4], "big"), 4
        if n < 126:
            return None
    elif n == 127:
        return None
    end = start + 4 + n
    if len(data) < end or 0 < max_payload < n:
        return None
    key = data[start:start + 4] * (n // 4 + 1)
    masked = data[start + 4:end]
    return (int.from_bytes(masked, "little") ^ int.from_bytes(key[:n], "little")).to_bytes(n, "little"), end


class LeanWebSocketServerProtocol(WebSocketServerProtocol):
    _short_path_limit: int | None = None    # payload limit on the short path; -1: not for this connection

    def dataReceived(self, data: bytes) -> None:
        # Autobahn's own dataReceived also formats a debug log line's arguments on every read.
        if (not self.data and self.state == self.STATE_OPEN and self.current_frame is None
                and not self.inside_message):
            limit = self._short_path_limit
            if limit is None:
                limit = self._short_path_limit = self._limit_for_short_path()
            while limit >= 0:
                frame = whole_text_frame(data, limit)
                if frame is None:
                    break
                payload, end = frame
                data = data[end:]
                self.onMessage(payload, False)
                if not data or self.state != self.STATE_OPEN or self.failedByMe:
                    break
        if data:
            self._dataReceived(data)

    def _limit_for_short_path(self) -> int:
        """-1 when this connection's options need Autobahn for every frame, else the payload
        limit (0: none), from the options fixed when the connection was made."""
        if (self.utf8validateIncoming or self.logFrames or self.logOctets or self.trackedTimings
                or self.autoPingInterval):
            return -1
        return min([x for x in (self.maxFramePayloadSize, self.maxMessagePayloadSize) if x > 0], default=0)

    def onMessageEnd(self) -> None:
        # Messages that took Autobahn's path: deliver as Autobahn does, without firing its
        # ObservableMixin "message" event (a Deferred per message for listeners nobody adds).
        if not self.failedByMe:
            self.onMessage(b"".join(self.message_data), self.message_is_binary)
        self.message_data = None
