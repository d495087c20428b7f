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


class RoleSwitch:
    """Points one twisted.web Site at the leader's resources or at the standby's answers."""

    def __init__(self, site: server.Site) -> None:
        self.site = site
        self.standby()

    def standby(self) -> None:
        self.site.resource = StandbyRoot()
        self.site.body_routes = [(b"/", refuse_body)]
        self.site.open_spool = None

    def lead(self, leader_site: server.Site) -> None:
        """Serve what `leader_site` (a leader's site, never listening itself) serves."""
        self.site.body_routes = leader_site.body_routes
        self.site.open_spool = leader_site.open_spool
        self.site.resource = leader_site.resource
