"""The contemplant's HTTP port: `GET /health` (200 while connected and registered, 503
otherwise) and `GET /metrics` (Prometheus, contemplant/metrics.py). Open to any client, like
/health: it names no secrets. On the reactor."""
from __future__ import annotations

import json
from typing import Callable

from prometheus_client import CollectorRegistry
from twisted.web import resource, server

from network_lib.metrics_page import MetricsPage


class Health(resource.Resource):
    isLeaf = True

    def __init__(self, report: Callable[[], dict]) -> None:
        super().__init__()
        self.report = report

    def render_GET(self, request) -> bytes:
        if request.postpath not in ([], [b""]):
            request.setResponseCode(404)
            return b'{"error": "no such endpoint; try /health"}\n'
        body = self.report()
        request.setResponseCode(200 if body["healthy"] else 503)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode() + b"\n"


class Root(resource.Resource):
    def getChild(self, path, request):
        return resource.NoResource("no such endpoint; try /health or /metrics")


def build_site(report: Callable[[], dict], registry: CollectorRegistry) -> server.Site:
    root = Root()
    root.putChild(b"health", Health(report))
    root.putChild(b"metrics", MetricsPage(registry))
    site = server.Site(root)
    site.displayTracebacks = False
    site.noisy = False
    return site
