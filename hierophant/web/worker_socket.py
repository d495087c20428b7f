"""`/ws`: the contemplants' WebSocket (docs/worker-protocol.md), Autobahn on twisted.web.

Web side: it parses frames and hands events to the scheduler (web -> domain, never back).

The bearer token is checked before the upgrade (401, no socket). Each connection feeds
parsed messages to the scheduler; anything malformed closes it with 4000 and a reason.
"""
from __future__ import annotations

import logging

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory
from twisted.web import resource

from hierophant.auth import bearer_ok
from hierophant.web.lean_websocket import LeanWebSocketServerProtocol
from hierophant.web.util import text
from hierophant.workers.registry import Worker
from hierophant.workers.scheduler import Refused, Scheduler
from network_lib import worker_protocol as wp

log = logging.getLogger("hierophant.ws")
REGISTER_TIMEOUT = 15.0
# Autobahn options of every worker socket (bench/_bare_ws_server.py's lean floor uses them too).
# UTF-8 is checked once, by wp.parse (a bad frame closes with 4000 naming it), not twice:
# Autobahn's incoming validator was a tenth of a heartbeat's cost.
SOCKET_OPTIONS = {"maxFramePayloadSize": wp.MAX_FRAME_BYTES, "maxMessagePayloadSize": wp.MAX_FRAME_BYTES,
                  "autoPingInterval": 0, "utf8validateIncoming": False}


class WorkerSocket(LeanWebSocketServerProtocol):
    scheduler: Scheduler

    def onConnect(self, request):
        self.peer = request.peer.removeprefix("tcp:")
        self.worker: Worker | None = None
        return None

    def onOpen(self) -> None:
        self._register_timer = self.scheduler.clock.callLater(REGISTER_TIMEOUT, self.close, wp.CLOSE_PROTOCOL,
                                                 f"no register message within {REGISTER_TIMEOUT:g}s")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        try:
            if isBinary:
                raise wp.ProtocolError("binary frames are not part of the protocol")
            msg = wp.parse(payload, raw_hardware=True)
            self._handle(msg)
        except wp.ProtocolError as e:
            log.warning("protocol error from %s: %s", self.worker.name if self.worker else self.peer, e)
            self.close(wp.CLOSE_PROTOCOL, str(e))

    def _handle(self, msg: wp.Message) -> None:
        s = self.scheduler
        if self.worker is None:
            if not isinstance(msg, wp.Register):
                raise wp.ProtocolError(f"expected register first, got {msg.TYPE}")
            try:
                reply = s.register(self, msg)
            except Refused as e:
                log.warning("refused worker %s (%s) from %s: %s", msg.name, msg.worker_id, self.peer, e.reason)
                self.close(e.code, e.reason)
                return
            if self._register_timer.active():
                self._register_timer.cancel()
            self.worker = s.workers[msg.worker_id]
            self.send(reply)
            return
        w = self.worker
        if w.conn is not self:
            return      # replaced by a newer connection of the same worker
        if type(msg) is wp.HeartbeatIn:     # 500 a second from 5,000 workers: first, and short
            s.heartbeat(w, msg)
            return
        s.seen(w)
        if isinstance(msg, wp.Progress):
            s.progress(w, msg)
        elif isinstance(msg, wp.Failed):
            if msg.kind not in wp.FAILURE_KINDS:
                raise wp.ProtocolError(f"failed.kind must be one of {wp.FAILURE_KINDS}, got {msg.kind!r}")
            s.failed(w, msg)
        elif isinstance(msg, wp.Draining):
            s.draining(w)
        elif isinstance(msg, wp.Completed):
            pass        # the proof PUT already completed the job
        else:
            raise wp.ProtocolError(f"unexpected {msg.TYPE} message from a worker")

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        timer = getattr(self, "_register_timer", None)
        if timer is not None and timer.active():
            timer.cancel()
        if getattr(self, "worker", None) is not None:
            self.scheduler.disconnected(self.worker, self, f"code {code}: {reason}" if code else "connection lost")

    # Connection interface used by the scheduler.
    def send(self, message: wp.Message) -> None:
        self.sendMessage(message.to_json().encode())

    def close(self, code: int, reason: str) -> None:
        self.sendClose(code, reason[:120])


class WorkerGate(resource.Resource):
    """Checks the worker token before handing the request to the WebSocket upgrade."""
    isLeaf = True

    def __init__(self, scheduler: Scheduler, worker_token: str, url: str) -> None:
        super().__init__()
        self.token = worker_token
        factory = WebSocketServerFactory(url)
        factory.protocol = type("BoundWorkerSocket", (WorkerSocket,), {"scheduler": scheduler})
        factory.setProtocolOptions(**SOCKET_OPTIONS)
        self.ws = WebSocketResource(factory)

    def render(self, request):
        if not bearer_ok(request, self.token):
            log.warning("refused a worker connection from %s: missing or wrong worker token",
                        request.getClientAddress().host)
            request.setHeader(b"www-authenticate", b'Bearer realm="hierophant workers"')
            return text(request, 401, "missing or wrong worker token (Authorization: Bearer <worker_token>)")
        return self.ws.render(request)
