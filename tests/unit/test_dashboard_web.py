"""The dashboard's HTTP side without a network: who gets in (access.py, pages.py) and the
event stream (events.py), through twisted.web's own Request on a test channel."""
from __future__ import annotations

import json

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.web import server
from twisted.web.resource import Resource
from twisted.web.test.test_web import DummyChannel

from hierophant.dashboard import access
from hierophant.dashboard.events import Broadcaster
from hierophant.dashboard.pages import FLEET, Dashboard
from hierophant.web.site import redacting_log_formatter

TOKEN = "s3cret-admin-token"
RID = "0x" + "ab" * 32
OFF_LOOPBACK = IPv4Address("TCP", "192.0.2.7", 5555)
LOOPBACK = IPv4Address("TCP", "127.0.0.1", 5555)


class World:
    def __init__(self, admin_token: str | None = TOKEN) -> None:
        self.clock = task.Clock()
        self.shown = {FLEET: {"now": 1, "running": []}, bytes.fromhex(RID[2:]): {"now": 1, "request": {}}}
        self.broadcaster = Broadcaster(self.view, self.clock)
        self.broadcaster.startService()
        root = Resource()
        root.putChild(b"dashboard", Dashboard(self.view, self.broadcaster, admin_token))
        self.site = server.Site(root)

    def view(self, key):
        return self.shown.get(key)

    def get(self, path: str, peer=OFF_LOOPBACK, method: bytes = b"GET", headers: dict | None = None,
            body: bytes = b""):
        channel = DummyChannel(peer)
        channel.site = self.site
        request = server.Request(channel)
        request.sent = channel.transport.written        # all it wrote, also after it ended
        for k, v in (headers or {}).items():
            request.requestHeaders.addRawHeader(k.encode(), v.encode())
        request.parseCookies()                  # the channel does this as headers arrive
        request.gotLength(len(body))
        request.handleContentChunk(body)
        request.requestReceived(method, path.encode(), b"HTTP/1.1")
        return request, channel.transport.written.getvalue()


def head_and_body(raw: bytes) -> tuple[str, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return head.decode(), body


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, data = out + rest[:n], rest[n + 2:]
    return out


def test_loopback_sees_the_dashboard_without_a_token():
    w = World()
    request, raw = w.get("/dashboard", peer=LOOPBACK)
    assert request.code == 200
    head, body = head_and_body(raw)
    assert b"dashboard.js" in body and "content-security-policy" in head.lower()


def test_off_loopback_without_a_token_gets_the_sign_in_form():
    w = World()
    for path in ("/dashboard", "/dashboard/events", "/dashboard/state.json", f"/dashboard/requests/{RID}"):
        request, raw = w.get(path)
        assert request.code == 403, path
        assert b'name=token' in raw and b'action="/dashboard/login"' in raw
    assert not w.broadcaster.streams


def test_without_an_admin_token_configured_only_loopback_gets_in():
    w = World(admin_token=None)
    assert w.get("/dashboard")[0].code == 403
    assert w.get("/dashboard?token=anything")[0].code == 403
    assert w.get("/dashboard", peer=LOOPBACK)[0].code == 200


def test_token_in_the_url_is_kept_in_a_cookie_and_taken_out_of_the_url():
    w = World()
    request, raw = w.get(f"/dashboard/requests/{RID}?token={TOKEN}&x=1")
    head, _ = head_and_body(raw)
    assert request.code == 302
    assert f"Location: /dashboard/requests/{RID}?x=1" in head
    cookie = next(line for line in head.split("\r\n") if line.lower().startswith("set-cookie:"))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert TOKEN not in cookie                         # the cookie is not the admin token
    value = cookie.split(":", 1)[1].strip().split(";")[0]
    request, _ = w.get("/dashboard/state.json", headers={"Cookie": value})
    assert request.code == 200
    assert w.get("/dashboard/state.json", headers={"Cookie": "hierophant_dashboard=forged"})[0].code == 403


def test_a_wrong_token_is_refused_and_says_so():
    w = World()
    request, raw = w.get("/dashboard?token=nope")
    assert request.code == 403 and b"That token is wrong" in raw and b"set-cookie" not in raw.lower()


def test_bearer_header_opens_it_too():
    w = World()
    request, raw = w.get("/dashboard/state.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert request.code == 200
    assert json.loads(head_and_body(raw)[1]) == w.shown[FLEET]


def test_sign_in_form_sets_the_cookie_and_goes_back_only_into_the_dashboard():
    w = World()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    request, raw = w.get("/dashboard/login", method=b"POST", headers=form,
                         body=f"token={TOKEN}&next=/dashboard/requests/{RID}".encode())
    head, _ = head_and_body(raw)
    assert request.code == 303 and f"Location: /dashboard/requests/{RID}" in head
    assert access.cookie_value(TOKEN).decode() in head
    request, raw = w.get("/dashboard/login", method=b"POST", headers=form,
                         body=f"token={TOKEN}&next=//evil.example/".encode())
    assert "Location: /dashboard\r" in head_and_body(raw)[0] + "\r"
    request, raw = w.get("/dashboard/login", method=b"POST", headers=form, body=b"token=wrong")
    assert request.code == 403 and b"That token is wrong" in raw


def test_static_files_are_open_and_packaged():
    w = World()
    request, _ = w.get("/dashboard/static/dashboard.css")       # the body follows from a producer
    assert request.code == 200 and request.responseHeaders.getRawHeaders(b"content-type") == [b"text/css"]
    assert w.get("/dashboard/static/dashboard.js")[0].code == 200


def test_bad_request_ids_are_named():
    w = World()
    request, raw = w.get("/dashboard/requests/0x1234", peer=LOOPBACK)
    assert request.code == 404 and b"/dashboard/requests/0x&lt;64 hex digits&gt;" in raw
    request, raw = w.get("/dashboard/state.json?request=0x12", peer=LOOPBACK)
    assert request.code == 404 and b"?request=0x<64 hex digits>" in raw


def events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in head_and_body(raw)[1].split(b"\n\n"):
        lines = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
        if b"event" in lines:
            out.append((lines[b"event"].decode(), json.loads(lines[b"data"])))
    return out


def test_event_stream_pushes_a_snapshot_each_second_until_the_client_goes():
    w = World()
    request, raw = w.get("/dashboard/events", peer=LOOPBACK)
    head, body = head_and_body(raw)
    assert "text/event-stream" in head and body.startswith(b"retry: ")
    assert events(raw) == [("snapshot", {"now": 1, "running": []})]
    w.shown[FLEET] = {"now": 2, "running": [{"request_id": RID}]}
    w.clock.advance(1.0)
    request2, _ = w.get(f"/dashboard/events?request={RID}", peer=LOOPBACK)
    w.clock.advance(1.0)
    got = events(request.sent.getvalue())
    assert [e for e in got][-2:] == [("snapshot", w.shown[FLEET])] * 2
    assert len(w.broadcaster.streams) == 2
    request.connectionLost(Exception("gone"))              # the browser closed the tab
    assert list(w.broadcaster.streams) == [request2]
    del w.shown[bytes.fromhex(RID[2:])]                   # deleted by retention
    w.clock.advance(1.0)
    assert events(request2.sent.getvalue())[-1][0] == "gone"
    assert request2.finished and not w.broadcaster.streams
    w.clock.advance(1.0)
    assert not w.broadcaster._ticker.running               # no streams: no ticking


def test_stopping_ends_every_stream():
    w = World()
    request, _ = w.get("/dashboard/events", peer=LOOPBACK)
    assert not request.finished
    w.broadcaster.stopService()
    assert request.finished and not w.broadcaster.streams


def test_the_access_log_leaves_the_token_out():
    w = World()
    request, _ = w.get(f"/dashboard?token={TOKEN}&x=1")
    line = redacting_log_formatter("[now]", request)
    assert TOKEN not in line and '"GET /dashboard?token=...&x=1 HTTP/1.1" 302' in line
