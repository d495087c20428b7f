"""The gRPC endpoint: grpcio on its own thread pool, bridged into the reactor.

Every handler receives the raw request bytes (no grpcio deserializer), so malformed
protobuf gets a clear INVALID_ARGUMENT instead of a generic error, and signed envelopes
are verified over the body bytes exactly as received (sdk-network-contract.md §3.3).
Signature recovery runs here on the gRPC thread; state is touched only on the reactor via
`blockingCallFromThread`. Status polls read the book's published snapshot and never enter
the reactor.
"""
from __future__ import annotations

import logging
from concurrent import futures
from typing import Any, Callable

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from twisted.application import service
from twisted.internet import defer, threads

from hierophant import errors
from hierophant.auth import Auth
from hierophant.errors import RpcError, StoreUnavailable
from hierophant.model import rid_hex
from hierophant.network_api import NetworkApi
from hierophant.requests import RequestBook
from network_lib.listening import bind_error, fail_startup
from network_lib.proto import artifact_pb2
from network_lib.proto import network_pb2 as pb
from network_lib.protowire import WireError, split_signed_envelope

log = logging.getLogger(__name__)

NETWORK = "network.ProverNetwork"
ARTIFACT = "artifact.ArtifactStore"
HANDLER_TIMEOUT = 45.0   # the SDK cancels an RPC at 60 s (§6.3, §9 item 18)
MiB = 1 << 20

# §7.1 / §9 item 20: the SDK pings every 15 s, also while idle; never punish that.
SERVER_OPTIONS = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.max_receive_message_length", 64 * MiB),   # §9 item 19
    ("grpc.max_send_message_length", 4 * MiB),
    ("grpc.so_reuseport", 0),
]


def _parse(cls, raw: bytes):
    try:
        return cls.FromString(raw)
    except DecodeError as e:
        raise errors.invalid(f"malformed {cls.DESCRIPTOR.name}: {e}") from None


def _signed(raw: bytes, body_cls, what: str) -> tuple[bytes, bytes, Any]:
    """(signature, raw body bytes, parsed body) of a signed envelope."""
    try:
        _fmt, signature, body_bytes = split_signed_envelope(raw)
    except WireError as e:
        raise errors.invalid(f"malformed {what}: {e}") from None
    return signature, body_bytes, _parse(body_cls, body_bytes)


class Bridge:
    """Turns grpcio calls into reactor calls and RpcErrors into gRPC statuses."""

    def __init__(self, api: NetworkApi, auth: Auth, book: RequestBook, reactor) -> None:
        self.api, self.auth, self.book, self.reactor = api, auth, book, reactor

    def on_reactor(self, fn: Callable, *args) -> Any:
        def call():
            d = defer.maybeDeferred(fn, *args)
            d.addTimeout(HANDLER_TIMEOUT, self.reactor)
            return d
        return threads.blockingCallFromThread(self.reactor, call)

    @staticmethod
    def unary(fn: Callable[[bytes], Any], name: str) -> grpc.RpcMethodHandler:
        def handler(raw: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                result = fn(raw)
            except RpcError as e:
                context.abort(e.code, e.message)
            except defer.TimeoutError:
                context.abort(grpc.StatusCode.UNAVAILABLE, f"{name} timed out inside the coordinator; retry")
            except StoreUnavailable as e:
                # Nothing was changed; the SDK retries UNAVAILABLE (sdk-network-contract.md §6.3).
                context.abort(grpc.StatusCode.UNAVAILABLE, f"{name}: {e}; retry")
            except Exception:
                log.exception("%s failed", name)
                context.abort(grpc.StatusCode.INTERNAL, f"{name} failed inside the coordinator; retry")
            return result if isinstance(result, bytes) else result.SerializeToString()
        return grpc.unary_unary_rpc_method_handler(handler)

    # -- handlers (gRPC threads) -------------------------------------------------------------
    def create_artifact(self, raw: bytes):
        req = _parse(artifact_pb2.CreateArtifactRequest, raw)
        requester = self.auth.artifact_signer(req.signature)
        return self.on_reactor(self.api.create_artifact, requester, req.artifact_type)

    def create_program(self, raw: bytes):
        signature, body_bytes, body = _signed(raw, pb.CreateProgramRequestBody, "CreateProgramRequest")
        requester = self.auth.body_signer(body_bytes, signature, "CreateProgram")
        return self.on_reactor(self.api.create_program, requester, body, body_bytes)

    def request_proof(self, raw: bytes):
        signature, body_bytes, body = _signed(raw, pb.RequestProofRequestBody, "RequestProofRequest")
        requester = self.auth.body_signer(body_bytes, signature, "RequestProof")
        return self.on_reactor(self.api.request_proof, requester, body, body_bytes)

    def get_status(self, raw: bytes) -> bytes:
        req = _parse(pb.GetProofRequestStatusRequest, raw)
        snapshot = self.book.status_bytes.get(req.request_id)
        if snapshot is None:
            raise errors.not_found(f"unknown request id {rid_hex(req.request_id)}")
        return snapshot

    def get_program(self, raw: bytes):
        req = _parse(pb.GetProgramRequest, raw)
        return self.on_reactor(self.api.get_program, req.vk_hash)

    def get_nonce(self, raw: bytes):
        return self.on_reactor(self.api.get_nonce, _parse(pb.GetNonceRequest, raw).address)

    def get_balance(self, raw: bytes):
        return self.on_reactor(self.api.get_balance, _parse(pb.GetBalanceRequest, raw).address)

    def get_details(self, raw: bytes):
        return self.on_reactor(self.api.get_details, _parse(pb.GetProofRequestDetailsRequest, raw).request_id)

    def get_filtered(self, raw: bytes):
        return self.on_reactor(self.api.get_filtered, _parse(pb.GetFilteredProofRequestsRequest, raw))

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        return generic_handlers(lambda attr: getattr(self, attr))


# gRPC service -> {method: Bridge attribute}
METHODS = {
    NETWORK: {
        "RequestProof": "request_proof", "GetProofRequestStatus": "get_status",
        "GetProofRequestDetails": "get_details", "GetFilteredProofRequests": "get_filtered",
        "GetNonce": "get_nonce", "GetProgram": "get_program",
        "CreateProgram": "create_program", "GetBalance": "get_balance",
    },
    ARTIFACT: {"CreateArtifact": "create_artifact"},
}


def generic_handlers(resolve: Callable[[str], Callable[[bytes], Any]]) -> list[grpc.GenericRpcHandler]:
    """The services' handlers; `resolve` turns a Bridge attribute name into the call to make."""
    return [grpc.method_handlers_generic_handler(
                svc, {n: Bridge.unary(resolve(attr), n) for n, attr in methods.items()})
            for svc, methods in METHODS.items()]


class Switch:
    """The handlers of a hierophant under leadership (hierophant/leadership.py): every call
    goes to the leader's Bridge while this process leads, else it is answered UNAVAILABLE
    (retryable: the SDK retries, and a load balancer sends the retry to the leader)."""

    def __init__(self) -> None:
        self.bridge: Bridge | None = None

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        return generic_handlers(lambda attr: lambda raw: self._call(attr, raw))

    def _call(self, attr: str, raw: bytes) -> Any:
        bridge = self.bridge
        if bridge is None:
            raise RpcError(grpc.StatusCode.UNAVAILABLE,
                           "this hierophant is a standby and does not lead now; retry (the leader answers)")
        return getattr(bridge, attr)(raw)


class GrpcService(service.Service):
    """Owns the grpcio server: binds on start, drains in-flight calls on stop."""

    def __init__(self, bridge: Bridge, address: str, port: int, threads_: int,
                 tls: tuple[bytes, bytes] | None = None) -> None:
        self.bridge, self.address, self.port, self.threads = bridge, address, port, threads_
        self.tls = tls
        self.server: grpc.Server | None = None
        self.health = health.HealthServicer()

    def privilegedStartService(self) -> None:
        """Bind (and start) now, so a port in use ends start-up cleanly (network_lib.listening)."""
        super().privilegedStartService()
        self._serve()

    def startService(self) -> None:
        self._serve()
        super().startService()

    def _serve(self) -> None:
        if self.server is not None:
            return
        server = grpc.server(futures.ThreadPoolExecutor(self.threads, thread_name_prefix="grpc"),
                             handlers=self.bridge.handlers(), options=SERVER_OPTIONS,
                             maximum_concurrent_rpcs=None)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (NETWORK, ARTIFACT, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        target = f"{self.address}:{self.port}"
        try:
            if self.tls:
                bound = server.add_secure_port(target, grpc.ssl_server_credentials([self.tls]))
            else:
                bound = server.add_insecure_port(target)
        except RuntimeError:      # newer grpcio raises instead of returning 0
            bound = 0
        if not bound:
            fail_startup("hierophant", f"cannot listen on grpc_port {target}: {bind_error(self.address, self.port)}")
        server.start()
        for name in ("", NETWORK, ARTIFACT):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.server = server
        log.info("gRPC (ProverNetwork, ArtifactStore) serving on %s%s", target, " with TLS" if self.tls else "")

    def stopService(self):
        super().stopService()
        if self.server is None:
            return None
        self.health.enter_graceful_shutdown()
        server, self.server = self.server, None
        return threads.deferToThread(lambda: server.stop(5).wait())
