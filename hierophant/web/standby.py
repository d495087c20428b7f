"""What a standby hierophant answers on its HTTP port (DESIGN.md "leadership"), and the root
that switches the one Site between the standby's answers and the leader's resources.

A standby serves nothing: `GET /healthz` answers 503 "standby" (a load balancer sends
clients to the leader), a worker's WebSocket upgrade on `/ws` answers 503 so the contemplant
tries its next `hierophant_ws_address` (docs/worker-protocol.md "Connecting"), and every
other path answers 503 with a reason, before any request body is read. Every answer carries
`X-Hierophant-Role: standby`. Runs on the reactor.
"""
from __future__ import annotations

from twisted.web import resource, server

from hierophant.uploads import Outcome
from hierophant.web.request import HierophantRequest
from hierophant.web.site import HierophantSite, redacting_log_formatter
from hierophant.web.util import text

ROLE_HEADER = b"x-hierophant-role"
STANDBY = "standby"
WS_REFUSAL = "standby: this hierophant does not lead; try the next hierophant_ws_address"
REFUSAL = "standby: this hierophant does not lead now; retry (through the load balancer, the leader answers)"


class StandbyRoot(resource.Resource):
    """Every path of a standby's HTTP port."""

    def getChild(self, path, request):
        return self

    def render(self, request):
        request.setHeader(ROLE_HEADER, STANDBY.encode())
        if request.path == b"/healthz":
            return text(request, 503, STANDBY)
        return text(request, 503, WS_REFUSAL if request.path == b"/ws" else REFUSAL)


def refuse_body(request, rest: str, length: int | None, open_spool) -> Outcome:
    """Body route of a standby (hierophant/web/request.py): 503 before the body is read."""
    return Outcome(503, REFUSAL)


class MemberSite(server.Site):
    """The one Site of a hierophant under leadership: while it leads, the leader's
    HierophantSite routes every request (resources and body routes); else the standby
    answers. Switched on the reactor by hierophant/leadership.py."""

    requestFactory = HierophantRequest
    displayTracebacks = False

    def __init__(self, reactor=None) -> None:
        super().__init__(StandbyRoot(), logFormatter=redacting_log_formatter, reactor=reactor)
        self.leader: HierophantSite | None = None

    def lead(self, leader: HierophantSite) -> None:
        self.leader = leader
        self.resource = leader.resource

    def standby(self) -> None:
        self.leader = None
        self.resource = StandbyRoot()

    def body_route(self, path: bytes):
        if self.leader is None:
            return refuse_body, ""
        return self.leader.body_route(path)

    def open_spool(self, pause, resume):
        return self.leader.open_spool(pause, resume)
