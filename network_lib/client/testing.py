"""Test doubles for :class:`NetworkClient`: a fake clock, RPC transport and HTTP store.

Used by tests/unit/test_client*.py; handy for any test that drives the client without a
server (no sleeps: ``FakeClock.sleep`` only advances time).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import grpc

from network_lib.client.artifacts import Payload
from network_lib.client.errors import HttpStatusError, RpcError
from network_lib.proto import artifact_pb2, network_pb2 as pb

REQUEST_TYPES = {
    "CreateArtifact": artifact_pb2.CreateArtifactRequest,
    "GetProgram": pb.GetProgramRequest,
    "CreateProgram": pb.CreateProgramRequest,
    "GetNonce": pb.GetNonceRequest,
    "RequestProof": pb.RequestProofRequest,
    "GetProofRequestStatus": pb.GetProofRequestStatusRequest,
    "GetBalance": pb.GetBalanceRequest,
    "GetProofRequestDetails": pb.GetProofRequestDetailsRequest,
    "GetFilteredProofRequests": pb.GetFilteredProofRequestsRequest,
}


class FakeClock:
    """Unix time and a monotonic clock that move only when ``sleep`` is called."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now, self.mono = now, 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        self.now += secs
        self.mono += secs


Handler = Callable[[Any], Any]  # parsed request -> response message (or raises)


class FakeTransport:
    """Answers RPCs from ``handlers[method]``; records ``(method, raw_bytes)``.

    A handler may return a message, raise :class:`RpcError`, or be a list consumed one
    item per call (an item that is an exception instance is raised).
    """

    def __init__(self, handlers: Optional[dict[str, Any]] = None) -> None:
        self.handlers: dict[str, Any] = dict(handlers or {})
        self.calls: list[tuple[str, bytes]] = []
        self.closed = False

    def call(self, method: str, request: bytes, timeout: float) -> bytes:
        self.calls.append((method, request))
        handler = self.handlers.get(method)
        if handler is None:
            raise RpcError(method, grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        if isinstance(handler, list):
            handler = handler.pop(0) if len(handler) > 1 else handler[0]
        if isinstance(handler, BaseException):
            raise handler
        resp = handler(REQUEST_TYPES[method].FromString(request)) if callable(handler) else handler
        return resp.SerializeToString()

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def raw(self, method: str) -> list[bytes]:
        return [r for m, r in self.calls if m == method]

    def close(self) -> None:
        self.closed = True


class FakeHttp:
    """In-memory artifact store: ``put`` keeps bodies by URL, ``get`` serves ``objects``."""

    def __init__(self) -> None:
        self.puts: dict[str, bytes] = {}
        self.objects: dict[str, bytes] = {}
        self.put_errors: list[BaseException] = []

    def put(self, url: str, payload: Payload) -> None:
        if self.put_errors:
            raise self.put_errors.pop(0)
        body = b"".join(payload.chunks())
        assert len(body) == payload.length
        self.puts[url] = body

    def get(self, url: str, dest: Any = None) -> bytes:
        if url not in self.objects:
            raise HttpStatusError("GET", url, 404, "not found")
        if dest is not None:
            dest.write(self.objects[url])
            return b""
        return self.objects[url]


def not_found(method: str = "GetProgram") -> RpcError:
    return RpcError(method, grpc.StatusCode.NOT_FOUND, "program not found")


def artifact_handler(base: str = "http://127.0.0.1:9010/artifacts") -> Handler:
    """CreateArtifact answering ``{base}/{type}/{n}`` for both URIs."""
    counter = iter(range(1, 1 << 30))

    def handle(req: artifact_pb2.CreateArtifactRequest) -> artifact_pb2.CreateArtifactResponse:
        kind = artifact_pb2.ArtifactType.Name(req.artifact_type).lower()
        url = f"{base}/{kind}/{next(counter)}"
        return artifact_pb2.CreateArtifactResponse(artifact_uri=url, artifact_presigned_url=url)

    return handle


def nonce_counter(start: int = 0) -> Handler:
    """GetNonce returning start, start+1, ... (like the sp1-cluster gateway)."""
    counter = iter(range(start, 1 << 62))
    return lambda req: pb.GetNonceResponse(nonce=next(counter))


def request_ok(request_id: bytes = b"\x42" * 32, tx_hash: bytes = b"\x00" * 32) -> Handler:
    return lambda req: pb.RequestProofResponse(
        tx_hash=tx_hash, body=pb.RequestProofResponseBody(request_id=request_id)
    )


def plonk_fixture(sp1_version: str = "v6.1.0") -> bytes:
    """The Plonk-tagged ProofFromNetwork contract fixture of sdk-network-contract.md §4.6:
    inputs all ``"0"``, empty proof strings, zero vkey hash, empty public values."""
    from network_lib import bincode

    w = bincode.Writer().u32(2)
    for _ in range(5 if sp1_version.startswith("v6") else 2):
        w.string("0")
    w.string("").string("").raw(bytes(32))
    return bincode.encode_proof_from_network(w.getvalue(), b"", sp1_version)
