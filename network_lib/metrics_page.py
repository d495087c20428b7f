"""`GET /metrics` for both daemons: one registry in the Prometheus text format (twisted.web).

Runs on the reactor, because the collectors read reactor-owned state; collecting only reads
and formats (well under a few milliseconds for these registries). The format follows the
scraper's Accept header (Prometheus text 0.0.4, or OpenMetrics when asked), as
prometheus_client's own HTTP server does.
"""
from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from twisted.web import resource

DENIED = "metrics answer loopback clients or Authorization: Bearer <admin_token>\n"


class MetricsPage(resource.Resource):
    """The registry's current values; `allowed(request)` (when given) guards access."""
    isLeaf = True

    def __init__(self, registry: CollectorRegistry,
                 allowed: Callable[[object], bool] | None = None) -> None:
        super().__init__()
        self.registry, self.allowed = registry, allowed

    def render_GET(self, request) -> bytes:
        if request.postpath not in ([], [b""]):
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"no such endpoint; try /metrics\n"
        if self.allowed is not None and not self.allowed(request):
            request.setResponseCode(403)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return DENIED.encode()
        accept = (request.getHeader(b"accept") or b"").decode("latin-1")
        encode, content_type = choose_encoder(accept)
        request.setHeader(b"content-type", content_type.encode())
        request.setHeader(b"cache-control", b"no-store")
        return encode(self.registry)
