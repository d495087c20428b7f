"""`GET /health` on http_port: 200 while connected and registered, 503 otherwise."""
from __future__ import annotations

import json
from typing import Callable

from twisted.web import resource, server


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
        return resource.NoResource("no such endpoint; try /health")


def build_site(report: Callable[[], dict]) -> server.Site:
    root = Root()
    root.putChild(b"health", Health(report))
    site = server.Site(root)
    site.displayTracebacks = False
    site.noisy = False
    return site
