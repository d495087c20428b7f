"""HTTP resources for artifacts: presigned uploads and public proof downloads (§4)."""
from __future__ import annotations

import logging

from twisted.internet import defer
from twisted.web import resource, server

from hierophant.artifacts import ArtifactIndex
from hierophant.spool import Outcome
from hierophant.uploads import Uploads
from hierophant.web.files import serve_file
from hierophant.web.request import HierophantRequest
from hierophant.web.util import text

log = logging.getLogger(__name__)


class UploadTarget(resource.Resource):
    """PUT (or POST) /upload/<token>: the SDK's presigned upload URL (§4.2)."""
    isLeaf = True

    def __init__(self, uploads: Uploads) -> None:
        super().__init__()
        self.uploads = uploads

    def render_PUT(self, request: HierophantRequest):
        if request.body_spool is None:  # a body routed elsewhere cannot reach here
            return text(request, 404, "unknown upload URL")
        return answer_later(request, self.uploads.complete(request.body_key, request.body_spool), "the upload")

    render_POST = render_PUT

    def render_GET(self, request):
        return text(request, 405, "upload URLs accept PUT only")


def answer_later(request: server.Request, outcome: defer.Deferred, what: str):
    """Answer with the Outcome `outcome` fires with (500 if it fails); NOT_DONE_YET."""
    gone: list = []
    request.notifyFinish().addErrback(gone.append)    # the client went away first

    def failed(f):
        log.error("storing %s failed\n%s", what, f.getTraceback())
        return Outcome(500, f"internal error storing {what}")
    outcome.addErrback(failed)
    outcome.addCallback(lambda o: None if gone else answer(request, o))
    return server.NOT_DONE_YET


def answer(request: server.Request, outcome: Outcome) -> None:
    request.setResponseCode(outcome.code)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.write((outcome.message + "\n").encode())
    request.finish()


class UploadRoot(resource.Resource):
    def __init__(self, uploads: Uploads) -> None:
        super().__init__()
        self.target = UploadTarget(uploads)

    def getChild(self, path, request):
        return self.target


class ProofDownload(resource.Resource):
    """GET /proofs/<token>: the unguessable proof_uri; raw bincode(ProofFromNetwork) (§4.4)."""
    isLeaf = True

    def __init__(self, index: ArtifactIndex) -> None:
        super().__init__()
        self.index = index

    def render_GET(self, request):
        token = request.postpath[0].decode("ascii", "replace") if request.postpath else ""
        artifact = self.index.by_download_token(token) if len(request.postpath) == 1 else None
        if artifact is None or not artifact.complete:
            return text(request, 404, "no proof at this URL")
        return serve_file(request, self.index.path(artifact))

    render_HEAD = render_GET

    def render_PUT(self, request):
        return text(request, 405, "proofs cannot be uploaded")

    render_POST = render_PUT
