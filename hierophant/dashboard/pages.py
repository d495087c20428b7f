"""`/dashboard` on the hierophant's HTTP port (twisted.web, on the reactor). Routes:

    GET  /dashboard                      the fleet (static/index.html)
    GET  /dashboard/requests/0x<id>      one request's story (static/request.html)
    GET  /dashboard/events[?request=0x<id>]   server-sent events: the snapshots (events.py)
    GET  /dashboard/state.json[?request=0x<id>]   the same snapshot, once (scripts, no JS)
    GET  /dashboard/static/<file>        CSS and JS, packaged with the project; open to all
    POST /dashboard/login                the admin token from the sign-in form (access.py)

Everything but static files and login answers loopback clients, or an admin token given
as `Authorization: Bearer`, once as `?token=`, or kept in the dashboard cookie (access.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from pathlib import Path

from twisted.web import pages, resource, server, static

from hierophant.dashboard import access
from hierophant.dashboard.events import Broadcaster, EventStream
from hierophant.web.util import json_body, text

STATIC = Path(__file__).with_name("static")
FLEET = "fleet"
_ID = re.compile(r"^0x([0-9a-fA-F]{64})$")
# Pages load only this origin's own files: no CDN, no inline script.
CSP = (b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def parse_request_id(text_: str | None) -> bytes | None:
    m = _ID.match(text_ or "")
    return bytes.fromhex(m.group(1)) if m else None


def view_key(request: server.Request) -> Hashable | None:
    """FLEET, or the request id given as `?request=0x<id>`; None when that is malformed."""
    raw = request.args.get(b"request")
    if not raw:
        return FLEET
    return parse_request_id(raw[0].decode("ascii", "replace"))


class Page(resource.Resource):
    """One HTML file, read once when the hierophant starts."""
    isLeaf = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.body = (STATIC / name).read_bytes()

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"content-security-policy", CSP)
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return self.body


class Refused(resource.Resource):
    isLeaf = True

    def __init__(self, wrong: bool) -> None:
        super().__init__()
        self.wrong = wrong

    def render(self, request: server.Request) -> bytes:
        return access.refusal_page(request, self.wrong)


class Redirect(resource.Resource):
    isLeaf = True

    def __init__(self, to: bytes) -> None:
        super().__init__()
        self.to = to

    def render(self, request: server.Request) -> bytes:
        request.redirect(self.to)
        return b""


class Login(resource.Resource):
    """POST /dashboard/login: token=...&next=/dashboard/..."""
    isLeaf = True

    def __init__(self, admin_token: str | None) -> None:
        super().__init__()
        self.admin_token = admin_token

    def render_POST(self, request: server.Request) -> bytes:
        given = request.args.get(b"token", [None])[0]
        nxt = request.args.get(b"next", [b"/dashboard"])[0]
        if not nxt.startswith(b"/dashboard") or b"//" in nxt or b"\\" in nxt:
            nxt = b"/dashboard"             # only back into the dashboard: no open redirect
        if not access.token_matches(given, self.admin_token):
            return access.refusal_page(request, wrong=True)
        access.keep_token(request, self.admin_token)
        request.redirect(nxt)
        request.setResponseCode(303)
        return b""


class StateJson(resource.Resource):
    isLeaf = True

    def __init__(self, views: Callable[[Hashable], object]) -> None:
        super().__init__()
        self.views = views

    def render_GET(self, request: server.Request) -> bytes:
        key = view_key(request)
        view = self.views(key) if key is not None else None
        if view is None:
            return text(request, 404, "unknown or malformed request id: ?request=0x<64 hex digits>")
        return json_body(request, view)


class Dashboard(resource.Resource):
    def __init__(self, views: Callable[[Hashable], object], broadcaster: Broadcaster,
                 admin_token: str | None) -> None:
        super().__init__()
        self.views, self.admin_token = views, admin_token
        self.fleet_page, self.request_page = Page("index.html"), Page("request.html")
        self.public = {b"static": static.File(str(STATIC)), b"login": Login(admin_token)}
        self.private = {b"": self.fleet_page, b"events": EventStream(broadcaster, view_key),
                        b"state.json": StateJson(views)}

    def render_GET(self, request: server.Request):
        return self._gate(request, self.fleet_page).render(request)

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        if path in self.public:
            return self.public[path]
        if path == b"requests" and len(request.postpath) == 1:
            request_id = parse_request_id(request.postpath[0].decode("ascii", "replace"))
            found = self.request_page if request_id is not None else pages.notFound(
                "No such request page", "a request page is /dashboard/requests/0x<64 hex digits>")
            return self._gate(request, found)
        return self._gate(request, self.private.get(path) or pages.notFound("No such dashboard page"))

    def _gate(self, request: server.Request, page: resource.Resource) -> resource.Resource:
        given = request.args.get(b"token", [None])[0]
        if given is not None:
            if not access.token_matches(given, self.admin_token):
                return Refused(wrong=True)
            access.keep_token(request, self.admin_token)
            return Redirect(access.without_token(request))
        return page if access.allowed(request, self.admin_token) else Refused(wrong=False)
