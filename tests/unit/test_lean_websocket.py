"""The hierophant's short path for workers' frames (hierophant/web/lean_websocket.py).

An Autobahn client and the server protocol talk over in-memory transports. The short path
must deliver exactly what Autobahn would, and hand everything else (fragments, partial
frames, control frames, binary, violations, sizes) to Autobahn untouched.
"""
from __future__ import annotations

import os

import pytest
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, WebSocketServerFactory
from twisted.internet import task
from twisted.internet.testing import StringTransport

from hierophant.web.lean_websocket import LeanWebSocketServerProtocol, whole_text_frame
from hierophant.web.worker_socket import WorkerSocket
from network_lib import worker_protocol as wp

LIMIT = 4096


class Transport(StringTransport):
    def unregisterProducer(self) -> None:         # Autobahn unregisters on close, registered or not
        self.producer = None


class Server(LeanWebSocketServerProtocol):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[bytes, bool]] = []
        self.slow = 0                    # frames that went through Autobahn's processData
        self.closed: tuple | None = None

    def processData(self) -> bool:
        self.slow += 1
        return super().processData()

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.got.append((payload, isBinary))

    def onClose(self, wasClean, code, reason) -> None:
        self.closed = (code, reason)


def pair(server_class=Server, utf8: bool = False, **server_opts):
    sf = WebSocketServerFactory("ws://localhost:1/ws")
    sf.protocol = server_class
    sf.setProtocolOptions(maxFramePayloadSize=LIMIT, maxMessagePayloadSize=LIMIT, autoPingInterval=0,
                          utf8validateIncoming=utf8, **server_opts)
    cf = WebSocketClientFactory("ws://localhost:1/ws")
    cf.protocol = WebSocketClientProtocol
    server, client = sf.buildProtocol(None), cf.buildProtocol(None)
    st, ct = Transport(), Transport()
    server.makeConnection(st)
    client.makeConnection(ct)
    server.dataReceived(ct.value())
    ct.clear()
    client.dataReceived(st.value())
    st.clear()
    assert server.state == server.STATE_OPEN
    return server, client, ct


def frames(client, ct, *payloads: bytes, **kw) -> bytes:
    for p in payloads:
        client.sendMessage(p, **kw)
    out = ct.value()
    ct.clear()
    return out


def test_the_rfc_example_frame():
    # RFC 6455 section 5.7: a single-frame masked text message containing "Hello".
    frame = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert whole_text_frame(frame + b"rest", 0) == (b"Hello", len(frame))
    assert whole_text_frame(frame[:-1], 0) is None                    # not all there yet
    assert whole_text_frame(bytes([0x01]) + frame[1:], 0) is None     # FIN clear: a fragment
    assert whole_text_frame(bytes([0x82]) + frame[1:], 0) is None     # binary
    assert whole_text_frame(bytes([0x81, 0x05]) + b"Hello", 0) is None  # unmasked
    assert whole_text_frame(frame, 4) is None                         # over the limit


def test_whole_text_frames_take_the_short_path_and_arrive_intact():
    server, client, ct = pair()
    small, medium = b'{"type":"heartbeat"}', os.urandom(64).hex().encode() * 20     # 20 and 2,560 bytes
    server.dataReceived(frames(client, ct, small, medium, small))
    assert server.got == [(small, False), (medium, False), (small, False)]
    assert server.slow == 0


def test_a_frame_split_across_reads_goes_to_autobahn_then_the_short_path_resumes():
    server, client, ct = pair()
    data = frames(client, ct, b"first", b"second")
    server.dataReceived(data[:4])
    assert server.got == []
    server.dataReceived(data[4:])
    assert [p for p, _ in server.got] == [b"first", b"second"] and server.slow > 0
    slow = server.slow
    server.dataReceived(frames(client, ct, b"third"))
    assert server.got[-1] == (b"third", False) and server.slow == slow


def test_fragmented_binary_and_control_frames_are_autobahns():
    server, client, ct = pair()
    client.sendMessage(b"0123456789abc", fragmentSize=5)
    server.dataReceived(frames(client, ct, b"\x00\x01", isBinary=True))
    client.sendPing(b"hi")
    server.dataReceived(ct.value())
    ct.clear()
    assert server.got == [(b"0123456789abc", False), (b"\x00\x01", True)]
    assert server.transport.value().startswith(bytes([0x8A, 0x02]))      # the pong (opcode 10)


def test_an_oversized_message_is_refused_by_autobahn():
    server, client, ct = pair()
    server.dataReceived(frames(client, ct, b"x" * (LIMIT + 1)))
    assert server.got == [] and server.state != server.STATE_OPEN
    assert server.wasMaxFramePayloadSizeExceeded or server.wasMaxMessagePayloadSizeExceeded


def test_an_unmasked_client_frame_fails_the_connection():
    server, _, _ = pair()
    server.dataReceived(bytes([0x81, 0x02]) + b"hi")
    assert server.got == [] and server.state != server.STATE_OPEN


def test_with_utf8_validation_on_autobahn_reads_every_frame():
    server, client, ct = pair(utf8=True)
    server.dataReceived(frames(client, ct, b"ok"))
    assert server.got == [(b"ok", False)] and server.slow > 0


def test_a_close_from_the_client_is_handled_by_autobahn():
    server, client, ct = pair()
    client.sendClose(1000, "bye")
    server.dataReceived(ct.value())
    assert server.state != server.STATE_OPEN and server.got == []


def test_the_autobahn_attributes_the_short_path_reads_still_exist():
    server, _, _ = pair()
    for name in ("data", "current_frame", "inside_message", "failedByMe", "utf8validateIncoming", "logFrames",
                 "logOctets", "trackedTimings", "autoPingInterval", "maxFramePayloadSize", "maxMessagePayloadSize",
                 "_dataReceived", "STATE_OPEN"):
        assert hasattr(server, name), name
    server.onMessageBegin(False)
    for name in ("message_data", "message_is_binary"):
        assert hasattr(server, name), name


@pytest.mark.parametrize("frame, reason", [
    (b'{"type":"heartbeat","x":"\xff"}', "frame is not UTF-8 text"),
    (b'{"type":"register"', "frame is not JSON"),
    (b"[1]", "frame is not a JSON object"),
    (b'{"type":"heartbeat"}', "expected register first, got heartbeat"),
])
def test_a_worker_socket_closes_4000_naming_the_problem(frame, reason):
    class Bound(WorkerSocket):
        scheduler = type("S", (), {"clock": task.Clock()})()
        sent_close: tuple | None = None

        def sendClose(self, code=None, reason=None):
            self.sent_close = (code, reason)

    server, client, ct = pair(Bound)
    server.peer = "test"
    server.worker = None
    server.onOpen()
    server.dataReceived(frames(client, ct, frame))
    assert server.sent_close is not None
    code, said = server.sent_close
    assert code == wp.CLOSE_PROTOCOL and reason in said
