"""The contemplant's WebSocket link to the hierophant (docs/worker-protocol.md "Connecting").

Dials `hierophant_ws_address` with `Authorization: Bearer <worker_token>`, sends `register`
first, heartbeats from `registered` on. Reconnecting is Twisted's `ClientService` with an
exponential back-off policy (0.5 s doubling to 30 s, jitter), so the first retry comes well
inside the hierophant's `reconnect_grace_secs`; it stops for good on the fatal closes: 4002
(version mismatch), 4004 (dropped) and HTTP 401 at the upgrade (wrong token), which end the
process. Runs on the reactor thread.
"""
from __future__ import annotations

import logging
import re
from typing import Optional, Protocol
from urllib.parse import urlsplit

import random

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet import defer, ssl, task
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

from contemplant import exits
from contemplant.transfer import Backoff
from network_lib import worker_protocol as wp

log = logging.getLogger("contemplant.connection")

AUTO_PING_INTERVAL_SECS = 15     # notices a half-open TCP connection
AUTO_PING_TIMEOUT_SECS = 30
CLOSE_WAIT_SECS = 5
_UPGRADE_STATUS = re.compile(r"upgrade failed \[(\d+)\]")


class Worker(Protocol):
    """What the connection needs from the contemplant service."""

    def register_message(self) -> wp.Register: ...
    def heartbeat_message(self) -> wp.Heartbeat: ...
    def on_registered(self, msg: wp.Registered) -> None: ...
    def on_message(self, msg: wp.Message) -> None: ...
    def on_disconnected(self) -> None: ...
    def fatal(self, code: int, message: str) -> None: ...


class _ClientProtocol(WebSocketClientProtocol):
    upgrade_status: Optional[int] = None

    def onOpen(self) -> None:
        self.factory.link._opened(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.link._received(self, payload, isBinary)

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        self.factory.link._closed(self, code, reason or "", self.upgrade_status)

    def failHandshake(self, reason: str) -> None:
        m = _UPGRADE_STATUS.search(reason or "")
        if m:
            self.upgrade_status = int(m.group(1))
        super().failHandshake(reason)


class _ClientFactory(WebSocketClientFactory):
    protocol = _ClientProtocol
    link: "Connection"


class Connection:
    """One logical link; survives reconnects. `send` works only while registered."""

    def __init__(self, url: str, token: str, worker: Worker, clock=None,
                 backoff: Optional[Backoff] = None, software: str = "contemplant",
                 protocol_version: str = wp.PROTOCOL_VERSION, reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.url, self.token, self.worker = url, token, worker
        self.clock = clock if clock is not None else reactor
        self.reactor = reactor
        backoff = backoff or Backoff(0.5, 30.0)
        policy = backoffPolicy(initialDelay=backoff.base, maxDelay=backoff.maximum, factor=2.0,
                               jitter=lambda: random.uniform(0, backoff.base / 2))
        # ClientService numbers the first retry 1: it waits `base` (plus jitter), then doubles.
        self.retry_policy = lambda attempt: policy(max(0, attempt - 1))
        self.software = software
        self.protocol_version = protocol_version
        self.proto: Optional[_ClientProtocol] = None
        self.registered = False
        self.running = False
        self._service: Optional[ClientService] = None
        self._heartbeat: Optional[task.LoopingCall] = None
        self._closed_d: Optional[defer.Deferred] = None

    @property
    def connected(self) -> bool:
        return self.proto is not None

    def start(self) -> None:
        self.running = True
        self._service = ClientService(self._endpoint(), self._factory(), retryPolicy=self.retry_policy,
                                      clock=self.clock)
        self._service.startService()

    def stop(self) -> defer.Deferred:
        """Close the socket (1000) and stop reconnecting; fires once it is closed."""
        self.running = False
        if self.proto is None:
            return self._stop_service()
        self._closed_d = defer.Deferred()
        self.proto.sendClose(1000, "contemplant stopping")
        proto = self.proto
        timer = self.clock.callLater(CLOSE_WAIT_SECS, lambda: proto.dropConnection(abort=True))
        self._closed_d.addBoth(lambda r: timer.cancel() if timer.active() else None)
        return self._closed_d.addCallback(lambda _: self._stop_service())

    def _stop_service(self) -> defer.Deferred:
        service, self._service = self._service, None
        if service is None or not service.running:
            return defer.succeed(None)
        return defer.maybeDeferred(service.stopService)

    def send(self, msg: wp.Message) -> bool:
        """Send on a registered socket; False (nothing sent) when there is none."""
        if self.proto is None or not self.registered:
            return False
        self.proto.sendMessage(msg.to_json().encode("utf-8"), isBinary=False)
        return True

    # -- socket events ------------------------------------------------------------------------
    def _factory(self) -> _ClientFactory:
        factory = _ClientFactory(self.url, headers={"Authorization": f"Bearer {self.token}"},
                                 useragent=self.software)
        factory.link = self
        factory.noisy = False
        factory.setProtocolOptions(
            maxFramePayloadSize=wp.MAX_FRAME_BYTES, maxMessagePayloadSize=wp.MAX_FRAME_BYTES,
            autoPingInterval=AUTO_PING_INTERVAL_SECS, autoPingTimeout=AUTO_PING_TIMEOUT_SECS,
            openHandshakeTimeout=30, closeHandshakeTimeout=CLOSE_WAIT_SECS)
        return factory

    def _endpoint(self):
        parts = urlsplit(self.url)
        secure = parts.scheme == "wss"
        endpoint = HostnameEndpoint(self.reactor, parts.hostname, parts.port or (443 if secure else 80), timeout=30)
        if secure:
            # Verifies the certificate chain and the host name (service-identity).
            endpoint = wrapClientTLS(ssl.optionsForClientTLS(parts.hostname), endpoint)
        return endpoint

    def _opened(self, proto: _ClientProtocol) -> None:
        if not self.running:
            proto.sendClose(1000, "contemplant stopping")
            return
        self.proto = proto
        log.info("connected to %s; registering", self.url)
        proto.sendMessage(self.worker.register_message().to_json().encode("utf-8"), isBinary=False)

    def _received(self, proto: _ClientProtocol, payload: bytes, is_binary: bool) -> None:
        if proto is not self.proto:
            return
        try:
            if is_binary:
                raise wp.ProtocolError("binary frame (the protocol uses text frames)")
            msg = wp.parse(payload)
        except wp.ProtocolError as e:
            log.error("bad frame from the hierophant: %s; closing", e)
            proto.sendClose(wp.CLOSE_PROTOCOL, str(e)[:120])
            return
        if isinstance(msg, wp.Registered):
            self._on_registered(msg)
        elif not self.registered:
            log.warning("ignoring %s before registered", msg.TYPE)
        else:
            self.worker.on_message(msg)

    def _on_registered(self, msg: wp.Registered) -> None:
        self.registered = True
        self._stop_heartbeat()
        self._heartbeat = task.LoopingCall(self._beat)
        self._heartbeat.clock = self.clock
        self._heartbeat.start(max(0.05, float(msg.heartbeat_interval_secs)), now=False)
        self.worker.on_registered(msg)

    def _beat(self) -> None:
        self.send(self.worker.heartbeat_message())

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        self._heartbeat = None

    def _closed(self, proto: Optional[_ClientProtocol], code: Optional[int], reason: str,
                upgrade_status: Optional[int]) -> None:
        if proto is not None and proto is not self.proto and self.proto is not None:
            return                                   # a stale socket
        was_registered = self.registered
        self.proto, self.registered = None, False
        self._stop_heartbeat()
        if was_registered:
            self.worker.on_disconnected()
        if self._closed_d is not None:
            d, self._closed_d = self._closed_d, None
            d.callback(None)
        if self._fatal(code, reason, upgrade_status):
            self._track_stop()
            return
        if not self.running:
            return
        what = f"closed with code {code}" if code and code != 1006 else "lost"
        log.warning("connection to the hierophant %s (%s); reconnecting", what, reason)

    def _track_stop(self) -> None:
        self._stop_service().addErrback(lambda f: log.error("stopping the connection failed\n%s", f.getTraceback()))

    def _fatal(self, code: Optional[int], reason: str, upgrade_status: Optional[int]) -> bool:
        if upgrade_status == 401:
            self.running = False
            self.worker.fatal(exits.EXIT_AUTH, "the hierophant refused the worker token "
                              "(HTTP 401 at the WebSocket upgrade); check worker_token")
            return True
        if code == wp.CLOSE_VERSION:
            self.running = False
            self.worker.fatal(exits.EXIT_FATAL, f"protocol version mismatch: {reason} "
                              f"(this contemplant speaks {self.protocol_version})")
            return True
        if code == wp.CLOSE_DROPPED:
            self.running = False
            self.worker.fatal(exits.EXIT_FATAL, f"the hierophant dropped this worker: {reason}; "
                              "an operator must look at it before it rejoins")
            return True
        if code == wp.CLOSE_REPLACED:
            log.warning("another connection registered this worker_id (4003); is the state_dir "
                        "shared by two contemplants?")
        return False
