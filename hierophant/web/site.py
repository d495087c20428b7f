"""The hierophant's one twisted.web Site (DESIGN.md "Runtime shape": web)."""
from __future__ import annotations

from typing import Callable

from twisted.web import resource, server

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
    root = Root()
    root.putChild(b"healthz", Health(serving))
    root.putChild(b"upload", UploadRoot(uploads))
    root.putChild(b"proofs", ProofDownload(index))
    site = server.Site(root)
    site.requestFactory = HierophantRequest
    site.displayTracebacks = False
    site.uploads = uploads
    return site
