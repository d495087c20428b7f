"""Job-scoped input downloads and proof uploads, and the JSON status endpoints (web side:
these resources call the scheduler and proof intake, never the other way)."""
from __future__ import annotations

import ipaddress

from twisted.web import resource

from hierophant.auth import bearer_ok
from hierophant.spool import Outcome
from hierophant.web.artifacts import answer_later
from hierophant.web.files import serve_file
from hierophant.web.util import json_body, text
from hierophant.workers.intake import ProofIntake
from hierophant.workers.scheduler import Scheduler


class JobFiles(resource.Resource):
    """/jobs/<token>/{elf,stdin,proof}: usable only by the worker holding that attempt."""
    isLeaf = True

    def __init__(self, scheduler: Scheduler, intake: ProofIntake, worker_token: str) -> None:
        super().__init__()
        self.scheduler, self.intake = scheduler, intake
        self.token = worker_token

    def _parts(self, request) -> tuple[str, str] | None:
        if len(request.postpath) != 2:
            return None
        return request.postpath[0].decode("ascii", "replace"), request.postpath[1].decode("ascii", "replace")

    def render_GET(self, request):
        if not bearer_ok(request, self.token):
            return text(request, 401, "missing or wrong worker token")
        parts = self._parts(request)
        found = self.scheduler.job_file(*parts) if parts and parts[1] in ("elf", "stdin") else None
        if found is None:
            return text(request, 404, "no such job input (attempt superseded or finished?)")
        path, skip = found
        return serve_file(request, path, skip)

    def render_PUT(self, request):
        spool = getattr(request, "body_spool", None)
        parts = self._parts(request)
        if spool is None or parts is None or parts[1] != "proof":
            return text(request, 404, "proofs are uploaded to /jobs/<token>/proof")
        return answer_later(request, self.intake.accept(parts[0], spool), "the proof")


def route_proof_upload(intake: ProofIntake, worker_token: str):
    """Body router entry for PUT /jobs/<token>/proof (see hierophant/web/request.py)."""
    def route(request, rest: str, length: int | None, open_spool):
        token, _, what = rest.partition("/")
        if what != "proof":
            return Outcome(404, "proofs are uploaded to /jobs/<token>/proof")
        if not bearer_ok(request, worker_token):
            return Outcome(401, "missing or wrong worker token")
        early = intake.refuse_early(token)
        return early or open_spool()
    return route


def _trusted(request, admin_token: str | None) -> bool:
    """DESIGN.md: status endpoints answer loopback clients, or anyone with admin_token."""
    host = request.getClientAddress().host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    return bool(admin_token) and bearer_ok(request, admin_token)


class StatusJson(resource.Resource):
    isLeaf = True

    def __init__(self, produce, admin_token: str | None) -> None:
        super().__init__()
        self.produce, self.admin_token = produce, admin_token

    def render_GET(self, request):
        if not _trusted(request, self.admin_token):
            return text(request, 403, "status endpoints answer loopback clients or Authorization: Bearer <admin_token>")
        return json_body(request, self.produce(request))


def history_limit(request) -> int:
    try:
        return max(1, min(10_000, int(request.args.get(b"limit", [b"100"])[0])))
    except ValueError:
        return 100
