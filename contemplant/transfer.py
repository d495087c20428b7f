"""Job bytes over HTTP (docs/worker-protocol.md "Bytes over HTTP"), streamed to and from files.

Every request carries `Authorization: Bearer <worker_token>`. Connection errors and 5xx
answers are retried with back-off until the job's deadline: the HTTP side is independent
of the WebSocket, so a proof finished while the socket was down is still delivered.
"""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Callable

import treq
from twisted.internet import defer, error, task
from twisted.web import client as web_client

log = logging.getLogger("contemplant.transfer")

HEADERS_TIMEOUT_SECS = 60
ERROR_BODY_CHARS = 500
TRANSIENT = (error.ConnectError, error.ConnectionLost, error.TimeoutError, error.DNSLookupError,
             defer.TimeoutError, web_client.ResponseNeverReceived, web_client.ResponseFailed,
             web_client.RequestTransmissionFailed)


class HttpStatus(Exception):
    """A non-2xx answer; `reason` is the (truncated) body the server sent."""

    def __init__(self, code: int, reason: str, url: str) -> None:
        super().__init__(f"HTTP {code} from {url}: {reason}")
        self.code = code
        self.reason = reason


class Backoff:
    """Exponential back-off with jitter: base, 2*base, ... up to `maximum`."""

    def __init__(self, base: float = 1.0, maximum: float = 30.0) -> None:
        self.base, self.maximum, self.failures = base, maximum, 0

    def next(self) -> float:
        delay = min(self.maximum, self.base * (2 ** self.failures))
        self.failures += 1
        return delay * random.uniform(0.75, 1.25)

    def reset(self) -> None:
        self.failures = 0


def bearer(token: str) -> dict[str, list[str]]:
    return {"Authorization": [f"Bearer {token}"]}


@defer.inlineCallbacks
def retry_until(deadline: float, what: str, attempt: Callable[[], defer.Deferred],
                backoff: Backoff, clock=None, now: Callable[[], float] = time.time):
    """Run `attempt()` until it succeeds, retrying transient errors until `deadline` (unix s)."""
    if clock is None:
        from twisted.internet import reactor as clock
    while True:
        try:
            result = yield attempt()
            return result
        except Exception as e:  # noqa: BLE001 - classified below
            if not _transient(e):
                raise
            delay = backoff.next()
            if now() + delay > deadline:
                raise
            log.warning("%s failed (%s); retrying in %.1f s", what, _describe(e), delay)
            yield task.deferLater(clock, delay, lambda: None)


def _transient(e: Exception) -> bool:
    return isinstance(e, TRANSIENT) or (isinstance(e, HttpStatus) and e.code >= 500)


def _describe(e: Exception) -> str:
    if isinstance(e, web_client.ResponseFailed | web_client.ResponseNeverReceived):
        return f"{type(e).__name__}: {', '.join(str(r.value) for r in e.reasons)}"
    return f"{type(e).__name__}: {e}"


@defer.inlineCallbacks
def _error_text(response) -> defer.Deferred:
    body = yield treq.content(response)
    return body[:ERROR_BODY_CHARS].decode("utf-8", "replace").strip()


@defer.inlineCallbacks
def download(url: str, dest: Path, token: str):
    """GET `url` into `dest`, streamed chunk by chunk; HttpStatus on a non-200 answer."""
    response = yield treq.get(url, headers=bearer(token), unbuffered=True, timeout=HEADERS_TIMEOUT_SECS)
    if response.code != 200:
        reason = yield _error_text(response)
        raise HttpStatus(response.code, reason, url)
    with open(dest, "wb") as f:
        yield treq.collect(response, f.write)
    return dest


@defer.inlineCallbacks
def upload(url: str, path: Path, token: str):
    """PUT the file at `path` (streamed); returns (status code, body text) for 2xx/4xx."""
    headers = bearer(token)
    headers["Content-Type"] = ["application/octet-stream"]
    # The timeout covers sending the body too: allow 1 MB/s on top of the headers' minute.
    timeout = HEADERS_TIMEOUT_SECS + path.stat().st_size / 1e6
    with open(path, "rb") as f:
        response = yield treq.put(url, data=f, headers=headers, timeout=timeout)
        text = yield _error_text(response)
    if response.code >= 500:
        raise HttpStatus(response.code, text, url)
    return response.code, text
