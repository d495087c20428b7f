"""The hierophant's one twisted.web Site (DESIGN.md "Runtime shape": web)."""
from __future__ import annotations

import re
from typing import Callable

from twisted.web import resource, server
from twisted.web.iweb import IAccessLogFormatter
from zope.interface import provider

from hierophant.artifacts import ArtifactIndex
from hierophant.spool import Spool
from hierophant.uploads import Uploads
from hierophant.web.artifacts import ProofDownload, UploadRoot
from hierophant.web.request import HierophantRequest
from hierophant.web.util import text


class Health(resource.Resource):
    """GET /healthz: 200 "OK" while serving, 503 otherwise."""
    isLeaf = True

    def __init__(self, serving: Callable[[], bool]) -> None:
        super().__init__()
        self.serving = serving

    def render_GET(self, request):
        return text(request, 200, "OK") if self.serving() else text(request, 503, "starting or stopping")


class Root(resource.Resource):
    def getChild(self, path, request):
        if path == b"":
            return self
        return resource.NoResource("no such endpoint")

    def render_GET(self, request):
        return text(request, 200, "hierophant: an SP1 prover network endpoint. gRPC on the grpc_port; "
                                  "this port serves artifacts, /healthz and worker sockets.")


BodyRoute = Callable   # (request, rest of the path, declared length, open_spool) -> Outcome | Spool


class HierophantSite(server.Site):
    """The hierophant's one Site on http_port, with one route table: top-level resources, and
    for PUT/POST the body routes that stream a body to a Spool instead of memory
    (hierophant/web/request.py). The parts that own an endpoint add it with `route`."""

    requestFactory = HierophantRequest
    displayTracebacks = False

    def __init__(self, serving: Callable[[], bool], open_spool: Callable[..., Spool], reactor=None) -> None:
        self.root = Root()
        super().__init__(self.root, logFormatter=redacting_log_formatter, reactor=reactor)
        self.requestFactory = HierophantRequest
        self._open_spool = open_spool
        self.body_routes: list[tuple[bytes, BodyRoute]] = []
        self.route(b"healthz", Health(serving))

    def route(self, segment: bytes, resource_: resource.Resource, body: BodyRoute | None = None) -> None:
        """Serve `resource_` at /<segment>; `body` (if any) routes PUT/POST bodies under it."""
        self.root.putChild(segment, resource_)
        if body is not None:
            self.body_routes.append((b"/" + segment + b"/", body))

    def body_route(self, path: bytes) -> tuple[BodyRoute, str] | None:
        """The body route of a PUT/POST path, and the rest of the path after its prefix."""
        for prefix, route in self.body_routes:
            if path.startswith(prefix):
                return route, path[len(prefix):].decode("ascii", "replace")
        return None

    def open_spool(self, pause: Callable[[], None], resume: Callable[[], None]) -> Spool:
        return self._open_spool(pause, resume)


def build_site(uploads: Uploads, index: ArtifactIndex, serving: Callable[[], bool], reactor=None) -> HierophantSite:
    """The Site with the artifact routes; more are added by the parts that own them."""
    site = HierophantSite(serving, uploads.open_spool, reactor)
    site.route(b"upload", UploadRoot(uploads), body=uploads.route)
    site.route(b"proofs", ProofDownload(index))
    return site


_SECRET_PATH = re.compile(rb"^/(upload|proofs|jobs)/([^/?]{8})[^/?]*")


@provider(IAccessLogFormatter)
def redacting_log_formatter(timestamp, request) -> str:
    """The combined log format, with URL tokens cut to 8 characters: the tokens are
    capabilities (upload, download, job access), and logs are read by more people."""
    ip = request.getClientAddress()
    uri = _SECRET_PATH.sub(rb"/\1/\2...", request.uri)
    method = request.method.decode("ascii", "replace")
    path = uri.decode("ascii", "replace")
    proto = (request.clientproto or b"").decode("ascii", "replace")
    agent = (request.getHeader(b"user-agent") or b"-").decode("ascii", "replace")[:80]
    return (f'"{getattr(ip, "host", "-")}" - - {timestamp} "{method} {path} {proto}" '
            f'{request.code:d} {request.sentLength or "-"} "{agent}"')
