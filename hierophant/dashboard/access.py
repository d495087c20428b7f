"""Who may see the dashboard: loopback clients, or whoever knows `admin_token` (DESIGN.md
"Artifacts": status endpoints). Runs on the reactor; keeps no state.

A browser cannot send `Authorization` headers on page loads and EventSource requests, so
the token may be given once, as `?token=` (the answer redirects to the same page without
it) or through the small form on the refusal page (POST /dashboard/login), and is then kept
in an HttpOnly, SameSite=Strict cookie. The cookie holds HMAC-SHA256(admin_token, COOKIE_CONTEXT),
not the token itself, so a stolen cookie opens the dashboard only, never the admin API.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import urllib.parse

from twisted.web import server

from hierophant.auth import bearer_ok

COOKIE = b"hierophant_dashboard"
COOKIE_CONTEXT = b"hierophant dashboard session v1"
COOKIE_MAX_AGE = 30 * 24 * 3600


def cookie_value(admin_token: str) -> bytes:
    return hmac.new(admin_token.encode(), COOKIE_CONTEXT, hashlib.sha256).hexdigest().encode()


def is_loopback(request: server.Request) -> bool:
    try:
        return ipaddress.ip_address(request.getClientAddress().host).is_loopback
    except (ValueError, AttributeError):
        return False


def allowed(request: server.Request, admin_token: str | None) -> bool:
    """Loopback, `Authorization: Bearer <admin_token>`, or the dashboard cookie."""
    if is_loopback(request):
        return True
    if not admin_token:
        return False
    if bearer_ok(request, admin_token):
        return True
    got = request.getCookie(COOKIE)
    return got is not None and hmac.compare_digest(got, cookie_value(admin_token))


def token_matches(given: bytes | None, admin_token: str | None) -> bool:
    return bool(admin_token) and given is not None and hmac.compare_digest(given, admin_token.encode())


def keep_token(request: server.Request, admin_token: str) -> None:
    """Set the session cookie (the token was right)."""
    request.addCookie(COOKIE, cookie_value(admin_token), path=b"/dashboard", max_age=str(COOKIE_MAX_AGE).encode(),
                      httpOnly=True, sameSite="strict", secure=request.isSecure())


def without_token(request: server.Request) -> bytes:
    """The request's own path and query, `token` removed (where `?token=` redirects to)."""
    query = [(k, v) for k, vs in request.args.items() if k != b"token" for v in vs]
    path = request.path
    return path + (b"?" + urllib.parse.urlencode(query).encode() if query else b"")


def refusal_page(request: server.Request, wrong: bool) -> bytes:
    """403 with a form asking for the admin token."""
    request.setResponseCode(403)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    back = html.escape(without_token(request).decode("ascii", "replace"))
    note = "<p class=error>That token is wrong.</p>" if wrong else ""
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>Hierophant dashboard: sign in</title><link rel=stylesheet href="/dashboard/static/dashboard.css">
</head><body class=login><main><h1>Hierophant</h1>
<p>The dashboard answers loopback clients, or anyone with this hierophant's <code>admin_token</code>.</p>
{note}<form method=post action="/dashboard/login"><input type=hidden name=next value="{back}">
<label>admin token <input type=password name=token autocomplete=current-password required autofocus></label>
<button type=submit>Open the dashboard</button></form></main></body></html>""".encode()
