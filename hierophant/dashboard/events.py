"""Server-sent events for the dashboard: a JSON snapshot pushed about once a second.

`Broadcaster` is a twisted service that owns the open streams. While at least one is open
its clock ticks every `interval` seconds; each tick builds each distinct view once (the
fleet, or one request) and writes it to every stream that shows it, as one SSE event
(`event: snapshot`, `data: <json>`, WHATWG HTML "Server-sent events"). A stream leaves when
its client goes (`notifyFinish`); stopping the service ends them all. On the reactor.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable
from typing import Any

from twisted.application import service
from twisted.internet import task
from twisted.web import resource, server

log = logging.getLogger(__name__)

RETRY_MS = 2000                 # how soon EventSource reconnects after a drop


def sse_event(name: str, value: Any) -> bytes:
    """One event; JSON has no raw newlines, so the data is a single `data:` line."""
    return b"event: " + name.encode() + b"\ndata: " + json.dumps(value, separators=(",", ":")).encode() + b"\n\n"


class Broadcaster(service.Service):
    """`views(key)` builds the snapshot for a view key (None once the view is gone)."""

    def __init__(self, views: Callable[[Hashable], Any], clock=None, interval: float = 1.0) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.views, self.clock, self.interval = views, clock, interval
        self.streams: dict[server.Request, Hashable] = {}
        self._ticker = task.LoopingCall(self.tick)
        self._ticker.clock = clock

    def subscribe(self, request: server.Request, key: Hashable) -> None:
        """Start an event stream on `request` showing view `key`, with its first event now."""
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-accel-buffering", b"no")         # proxies: do not buffer the stream
        request.write(b"retry: %d\n\n" % RETRY_MS)
        self.streams[request] = key
        request.notifyFinish().addBoth(lambda _: self.streams.pop(request, None))
        self._send({key: self._build(key)}, [request])
        if self.running and not self._ticker.running:
            self._ticker.start(self.interval, now=False)

    def tick(self) -> None:
        if not self.streams:
            self._ticker.stop()
            return
        built: dict[Hashable, bytes | None] = {}
        for key in set(self.streams.values()):
            built[key] = self._build(key)
        self._send(built, list(self.streams))

    def _build(self, key: Hashable) -> bytes | None:
        try:
            view = self.views(key)
        except Exception:
            log.exception("dashboard view %r failed", key)
            return sse_event("problem", {"error": "the hierophant could not build this view; see its log"})
        return None if view is None else sse_event("snapshot", view)

    def _send(self, built: dict, requests: list) -> None:
        for request in requests:
            key = self.streams.get(request)
            if key is None:
                continue
            event = built[key]
            if event is None:
                request.write(sse_event("gone", {"error": "no such request (deleted by retention?)"}))
                self._end(request)
            else:
                request.write(event)

    def _end(self, request: server.Request) -> None:
        self.streams.pop(request, None)
        if not request.finished and not request._disconnected:
            request.finish()

    def startService(self) -> None:
        super().startService()
        if self.streams and not self._ticker.running:
            self._ticker.start(self.interval, now=False)

    def stopService(self):
        if self._ticker.running:
            self._ticker.stop()
        for request in list(self.streams):
            self._end(request)
        return super().stopService()


class EventStream(resource.Resource):
    """GET: an event stream of the view `key_of(request)` picks (None: 404, already answered)."""
    isLeaf = True

    def __init__(self, broadcaster: Broadcaster, key_of: Callable[[server.Request], Hashable | None]) -> None:
        super().__init__()
        self.broadcaster, self.key_of = broadcaster, key_of

    def render_GET(self, request: server.Request):
        key = self.key_of(request)
        if key is None:
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"unknown request id\n"
        self.broadcaster.subscribe(request, key)
        return server.NOT_DONE_YET
