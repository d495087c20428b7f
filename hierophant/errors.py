"""An RPC refusal carrying its gRPC status code and a message that names the problem."""
from __future__ import annotations

import grpc


class RpcError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.NOT_FOUND, message)


def precondition(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.FAILED_PRECONDITION, message)


def aborted(message: str) -> RpcError:
    # ABORTED makes the SDK re-fetch its nonce and re-sign (§3.3).
    return RpcError(grpc.StatusCode.ABORTED, message)


def denied(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.PERMISSION_DENIED, message)


class StoreUnavailable(Exception):
    """The database or the artifact bucket cannot be reached now; nothing was changed.

    gRPC answers UNAVAILABLE (the SDK retries), HTTP uploads 503, both with this message."""


class Fenced(StoreUnavailable):
    """A write of a leader whose lease another hierophant took over: refused by the store's
    fencing check, nothing changed (hierophant/leadership.py). Retryable, as UNAVAILABLE."""
