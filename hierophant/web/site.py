"""The hierophant's one twisted.web Site (DESIGN.md "Runtime shape": web)."""
from __future__ import annotations

import re
from typing import Callable

from twisted.web import resource, server
from twisted.web.iweb import IAccessLogFormatter
from zope.interface import provider

from hierophant.artifacts import ArtifactIndex
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


def build_site(uploads: Uploads, index: ArtifactIndex, serving: Callable[[], bool]) -> server.Site:
    """The Site; more children and body routes are added by the parts that own them."""
    root = Root()
    root.putChild(b"healthz", Health(serving))
    root.putChild(b"upload", UploadRoot(uploads))
    root.putChild(b"proofs", ProofDownload(index))
    site = server.Site(root, logFormatter=redacting_log_formatter)
    site.requestFactory = HierophantRequest
    site.displayTracebacks = False
    site.open_spool = uploads.open_spool
    site.body_routes = [(b"/upload/", uploads.route)]   # (path prefix, route): request.py
    return site


_SECRET_PATH = re.compile(rb"^/(upload|proofs|jobs)/([^/?]{8})[^/?]*")
_SECRET_QUERY = re.compile(rb"([?&]token=)[^&]*")      # /dashboard?token=<admin_token>


@provider(IAccessLogFormatter)
def redacting_log_formatter(timestamp, request) -> str:
    """The combined log format, with URL tokens cut to 8 characters: the tokens are
    capabilities (upload, download, job access), and logs are read by more people. A
    `token=` query parameter (the dashboard's admin token) is left out entirely."""
    ip = request.getClientAddress()
    uri = _SECRET_QUERY.sub(rb"\1...", _SECRET_PATH.sub(rb"/\1/\2...", request.uri))
    return '"%s" - - %s "%s %s %s" %d %s "%s"' % (
        getattr(ip, "host", "-"), timestamp, request.method.decode("ascii", "replace"),
        uri.decode("ascii", "replace"), (request.clientproto or b"").decode("ascii", "replace"),
        request.code, request.sentLength or "-",
        (request.getHeader(b"user-agent") or b"-").decode("ascii", "replace")[:80])
