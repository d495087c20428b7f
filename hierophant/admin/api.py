"""`/admin/...` on the hierophant's HTTP port: JSON for `hierophant-admin` (twisted.web, reactor).

Access as DESIGN.md says for status endpoints: loopback clients, or `Authorization: Bearer
<admin_token>`. Routes (README "Operating a fleet"):

    GET  /admin/requests[?status=S&limit=N]     GET  /admin/requests/<id>
    POST /admin/requests/<id>/cancel            POST /admin/requests/<id>/requeue
    GET  /admin/workers                         POST /admin/workers/<worker>/{drain,undrain,kick}

Answers are JSON; errors `{"error": "..."}` with 400 (malformed), 403 (refused), 404
(unknown), 405 (wrong method) or 409 (not possible now). Every action is logged with what
was done and the client's address.
"""
from __future__ import annotations

import logging
from typing import Callable

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web import resource, server

from hierophant.admin.actions import AdminActions, AdminError, Done
from hierophant.admin.views import request_json
from hierophant.web.util import json_body

log = logging.getLogger("hierophant.admin")

MAX_LIST = 10_000


class AdminApi(resource.Resource):
    isLeaf = True

    def __init__(self, actions: AdminActions, trusted: Callable[[server.Request], bool], clock=None) -> None:
        super().__init__()
        if clock is None:
            from twisted.internet import reactor as clock
        self.actions, self.trusted, self.clock = actions, trusted, clock

    def render(self, request: server.Request):
        host = request.getClientAddress().host
        if not self.trusted(request):
            log.warning("admin: refused %s %s from %s (not loopback, no valid admin token)",
                        request.method.decode(), request.path.decode("ascii", "replace"), host)
            return json_body(request, {"error": "the admin API answers loopback clients or "
                                            "Authorization: Bearer <admin_token>; token missing or wrong"}, 403)
        try:
            parts = [p.decode("utf-8") for p in request.postpath if p]
        except UnicodeDecodeError:
            return json_body(request, {"error": "the path is not UTF-8"}, 400)
        try:
            result = self._route(request, parts)
        except AdminError as e:
            return json_body(request, {"error": e.message}, e.code)
        if isinstance(result, defer.Deferred):
            gone: list = []
            request.notifyFinish().addErrback(gone.append)      # the client went away first
            result.addCallbacks(lambda done: self._answer(request, done, host, gone),
                                lambda f: self._failed(request, f, gone))
            return server.NOT_DONE_YET
        if isinstance(result, Done):
            return self._done(request, result, host)
        return json_body(request, result)

    def _route(self, request: server.Request, parts: list[str]):
        method = request.method
        a = self.actions
        if parts == ["requests"] and method == b"GET":
            status = _arg(request, "status")
            limit = _limit(_arg(request, "limit"))
            now = self.clock.seconds()
            return {"requests": [request_json(r, a.scheduler, now, a.eta) for r in a.requests(status, limit)]}
        if parts == ["workers"] and method == b"GET":
            return {"workers": a.scheduler.workers_json()}
        if len(parts) == 2 and parts[0] == "requests" and method == b"GET":
            return {"request": request_json(a.request(parts[1]), a.scheduler, self.clock.seconds(), a.eta)}
        if len(parts) == 3 and parts[0] == "requests" and parts[2] in ("cancel", "requeue"):
            _post(method)
            return getattr(a, parts[2])(parts[1])
        if len(parts) == 3 and parts[0] == "workers" and parts[2] in ("drain", "undrain", "kick"):
            _post(method)
            if parts[2] == "kick":
                return a.kick(parts[1])
            return a.drain(parts[1], on=parts[2] == "drain")
        raise AdminError(404, f"no admin endpoint {method.decode()} /admin/{'/'.join(parts)}")

    def _answer(self, request: server.Request, done: Done, host: str, gone: list) -> None:
        body = self._done(request, done, host)      # logged even if the client left
        if not gone:
            request.write(body)
            request.finish()

    def _done(self, request: server.Request, done: Done, host: str) -> bytes:
        log.info("admin: %s %s from %s: %s", done.action, done.target, host, done.detail)
        return json_body(request, {"done": done.action, "target": done.target, "detail": done.detail})

    def _failed(self, request: server.Request, f: Failure, gone: list) -> None:
        if f.check(AdminError):
            body = json_body(request, {"error": f.value.message}, f.value.code)
        else:
            log.error("admin action failed: %s", f.getTraceback())
            body = json_body(request, {"error": f"internal error: {f.getErrorMessage()}"}, 500)
        if not gone:
            request.write(body)
            request.finish()


def _arg(request: server.Request, name: str) -> str | None:
    values = request.args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else None


def _limit(text: str | None) -> int:
    if text is None:
        return 100
    try:
        n = int(text)
    except ValueError:
        raise AdminError(400, f"limit must be a whole number, got {text!r}") from None
    if not 1 <= n <= MAX_LIST:
        raise AdminError(400, f"limit must be between 1 and {MAX_LIST}, got {n}")
    return n


def _post(method: bytes) -> None:
    if method != b"POST":
        raise AdminError(405, f"actions are POSTs, not {method.decode()}")
