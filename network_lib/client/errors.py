"""Typed errors of the prover-network client.

Every error the client raises on purpose derives from :class:`ClientError`, so callers (and
the CLI) can tell expected failures from bugs. Retry classification lives in ``retry.py``.
"""

from __future__ import annotations

import grpc


class ClientError(Exception):
    """Base of every error the client raises on purpose."""


class MissingKeyError(ClientError):
    """A signed call was attempted without a private key and without unsigned mode."""


class RpcError(ClientError):
    """A gRPC call failed; ``code`` is the ``grpc.StatusCode``."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str | None) -> None:
        self.method = method
        self.code = code
        self.details = details or ""
        super().__init__(f"{method} failed: {code.name}: {self.details}".rstrip(": "))


class HttpStatusError(ClientError):
    """An artifact PUT/GET answered non-2xx: always permanent (sdk-network-contract.md §4.5)."""

    def __init__(self, verb: str, url: str, status: int, body: str) -> None:
        self.verb, self.url, self.status, self.body = verb, url, status, body
        action = "upload" if verb == "PUT" else "download"
        text = f": {body}" if body else ""
        super().__init__(f"Failed to {action} artifact: HTTP {status}{text}")


class TransportError(ClientError):
    """A connection-level failure on the artifact HTTP path (refused, reset, DNS, TLS, timeout).

    The message mimics reqwest's so that the text classifier of §6.3 treats uploads as
    transient; ``download`` failures are raised as :class:`DownloadError` (permanent, §4.5).
    """


class DownloadError(ClientError):
    """``Failed to download from URI``: a GET connection failure, permanent per §4.5."""


class ProtocolError(ClientError):
    """The server answered something the Rust SDK would panic on or reject (§5)."""


class RequestFailed(ClientError):
    """A proof request reached a terminal failure (sdk-network-contract.md §6.1)."""

    reason = "failed"

    def __init__(self, request_id: bytes) -> None:
        self.request_id = bytes(request_id)
        super().__init__(f"Proof request 0x{self.request_id.hex()} {self.reason}")


class RequestTimedOut(RequestFailed):
    reason = "timed out"


class RequestUnexecutable(RequestFailed):
    reason = "is unexecutable"


class RequestUnfulfillable(RequestFailed):
    reason = "is unfulfillable"


class RequestReverted(RequestFailed):
    """6.4.0 only: FulfillmentStatus REVERTED (5)."""

    reason = "failed during settlement"


class RequestExpired(RequestFailed):
    """6.4.0 only: FulfillmentStatus EXPIRED (6)."""

    reason = "expired before a proof was submitted"
