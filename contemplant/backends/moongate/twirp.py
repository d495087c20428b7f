"""A twirp client for moongate's `api.ProverService` (prover-backends.md §2.2): protobuf
bodies `{bytes data = 1}` / `{bytes result = 1}` (`{bool ready = 1}` for Ready), JSON
errors `{"code", "msg"}`. No HTTP timeout: proofs can take hours; cancelling the Deferred
drops the connection."""
from __future__ import annotations

import json
import treq
from twisted.internet import defer

from network_lib.protowire import LEN, VARINT, WireError, encode_len_field, iter_fields

SERVICE = "api.ProverService"
CONTENT_TYPE = "application/protobuf"


class TwirpError(Exception):
    """A twirp call that failed: an error response, an HTTP failure or a bad body."""


def base_url(endpoint: str) -> str:
    """`http://host:3000` or `…/twirp/` → `http://host:3000/twirp/` (it must end with `/`)."""
    url = endpoint.rstrip("/")
    if not url.endswith("/twirp"):
        url += "/twirp"
    return url + "/"


def encode_bytes_message(data: bytes) -> bytes:
    """`{bytes f = 1}`: an empty value is omitted (empty body)."""
    return encode_len_field(1, data) if data else b""


def decode_bytes_message(body: bytes) -> bytes:
    """Field 1 of a `{bytes result = 1}` message; b"" when absent."""
    out = b""
    for f in iter_fields(body):
        if f.number == 1:
            if f.wire_type != LEN:
                raise WireError(f"field 1 has wire type {f.wire_type}, expected bytes")
            out = f.value
    return out


def decode_ready(body: bytes) -> bool:
    """ReadyResponse{bool ready = 1}: `08 01` when ready, empty body = false."""
    ready = False
    for f in iter_fields(body):
        if f.number == 1 and f.wire_type == VARINT:
            ready = bool(f.value)
    return ready


def error_message(code: int, body: bytes) -> str:
    """The twirp error's `code: msg`, or the HTTP status and the start of the body."""
    try:
        obj = json.loads(body)
        if isinstance(obj, dict) and "msg" in obj:
            return f"{obj.get('code', 'unknown')}: {obj['msg']}"
    except ValueError:
        pass
    return f"HTTP {code}: {body[:200].decode('utf-8', 'replace')}"


class TwirpClient:
    def __init__(self, endpoint: str, http=None) -> None:
        self.base = base_url(endpoint)
        self.http = http or treq

    @defer.inlineCallbacks
    def call(self, method: str, body: bytes):
        """POST one method; Deferred[bytes] of the response body, or TwirpError."""
        url = f"{self.base}{SERVICE}/{method}"
        try:
            resp = yield self.http.post(url, data=body, headers={"Content-Type": [CONTENT_TYPE]})
            content = yield treq.content(resp)
        except defer.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - connection refused, reset, ...
            if any(f.check(defer.CancelledError) for f in getattr(e, "reasons", ())):
                raise defer.CancelledError() from None    # ResponseNeverReceived after a cancel
            raise TwirpError(f"moongate {method} at {url} failed: {e}") from None
        if not 200 <= resp.code < 300:
            raise TwirpError(f"moongate {method}: {error_message(resp.code, content)}")
        return content

    @defer.inlineCallbacks
    def ready(self):
        """Deferred[bool]; False also when the server does not answer yet."""
        try:
            body = yield self.call("Ready", b"")
            return decode_ready(body)
        except (TwirpError, WireError):
            return False

    @defer.inlineCallbacks
    def request(self, method: str, data: bytes):
        """Deferred[bytes]: `result` of `method` called with `data`."""
        body = yield self.call(method, encode_bytes_message(data))
        try:
            return decode_bytes_message(body)
        except WireError as e:
            raise TwirpError(f"moongate {method}: the response is not protobuf: {e}") from None
