"""gRPC transport: raw bytes in, raw bytes out (sdk-network-contract.md §7.1).

Requests travel pre-serialised so a signed envelope carries exactly the body bytes that
were signed (§3.1). The per-RPC timeout is enforced client-side only, like tonic: no
``grpc-timeout`` header is sent and expiry cancels the call, surfacing as CANCELLED.
"""

from __future__ import annotations

import threading
from typing import Optional, Protocol
from urllib.parse import urlsplit

import grpc

from network_lib.client.errors import ClientError, RpcError

# §1.1: method name -> full path. Message packages never travel on the wire.
METHOD_PATHS = {
    "CreateArtifact": "/artifact.ArtifactStore/CreateArtifact",
    **{
        m: f"/network.ProverNetwork/{m}"
        for m in (
            "GetProgram",
            "CreateProgram",
            "GetNonce",
            "RequestProof",
            "GetProofRequestStatus",
            "GetBalance",
            "GetProofRequestDetails",
            "GetFilteredProofRequests",
        )
    },
}

KEEPALIVE_MS = 15_000  # §7.1: PING every 15 s, also while idle; 15 s ack timeout
MAX_RECEIVE_BYTES = 4 << 20  # §7.1: tonic's default decode limit

CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", KEEPALIVE_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.max_send_message_length", -1),
    ("grpc.enable_retries", 0),  # retries are ours (§6.3), not grpc-core's
    ("grpc.initial_reconnect_backoff_ms", 1000),
    # Own subchannels: otherwise grpc-core's global pool lets a "new" 5.x channel reuse a
    # connection left by the previous one, and 5.x opens a new connection per RPC (§1.3).
    ("grpc.use_local_subchannel_pool", 1),
)


class Transport(Protocol):
    """What :class:`NetworkClient` needs from a transport; tests substitute fakes."""

    def call(self, method: str, request: bytes, timeout: float) -> bytes: ...

    def close(self) -> None: ...


def grpc_target(rpc_url: str) -> tuple[str, bool]:
    """(``host:port``, use_tls) from an ``http://`` / ``https://`` URL (§7.1 scheme handling)."""
    parts = urlsplit(rpc_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(
            f"invalid RPC URL {rpc_url!r}: expected http://host:port or https://host[:port]"
        )
    tls = parts.scheme == "https"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or (443 if tls else 80)}", tls


class GrpcTransport:
    """One shared lazy channel (6.2.2+) or a fresh channel per RPC (5.x), per §1.3/§7.1."""

    def __init__(self, rpc_url: str, shared: bool) -> None:
        self.target, self.tls = grpc_target(rpc_url)
        self.shared = shared
        self._channel: Optional[grpc.Channel] = None
        self._lock = threading.Lock()

    def _new_channel(self) -> grpc.Channel:
        if self.tls:
            return grpc.secure_channel(self.target, grpc.ssl_channel_credentials(), CHANNEL_OPTIONS)
        return grpc.insecure_channel(self.target, CHANNEL_OPTIONS)

    def _shared_channel(self) -> grpc.Channel:
        with self._lock:
            if self._channel is None:
                self._channel = self._new_channel()
            return self._channel

    def call(self, method: str, request: bytes, timeout: float) -> bytes:
        channel = self._shared_channel() if self.shared else self._new_channel()
        try:
            return _invoke(channel, method, request, timeout)
        finally:
            if not self.shared:
                channel.close()

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None


def _invoke(channel: grpc.Channel, method: str, request: bytes, timeout: float) -> bytes:
    future = channel.unary_unary(METHOD_PATHS[method]).future(request)
    try:
        return future.result(timeout=timeout)
    except grpc.FutureTimeoutError:
        future.cancel()
        raise RpcError(method, grpc.StatusCode.CANCELLED, "Timeout expired") from None
    except grpc.RpcError as e:
        raise RpcError(method, e.code(), e.details()) from None
