"""The client over real grpcio + http.client against a tiny in-process server on loopback.

Checks what fakes cannot: raw-byte signed envelopes through grpcio (§3.3), the channel
policy per profile (§7.1), client-side per-RPC timeout => CANCELLED (§6.3), uploads (§4.2).
"""

from __future__ import annotations

import http.server
import threading
from concurrent import futures

import grpc
import pytest

from network_lib import bincode, protowire, signing
from network_lib.client import NetworkClient, RpcError
from network_lib.client.artifacts import ZSTD_MAGIC, zstd_decompress
from network_lib.client.testing import plonk_fixture
from network_lib.proto import artifact_pb2, network_pb2 as pb

KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = signing.private_key_to_address(KEY)


class Store(http.server.BaseHTTPRequestHandler):
    objects: dict[str, bytes] = {}
    headers_seen: list[dict] = []

    def log_message(self, *a):
        pass

    def do_PUT(self):
        self.headers_seen.append(dict(self.headers))
        self.objects[self.path] = self.rfile.read(int(self.headers["Content-Length"]))
        self._reply(200, b"")

    def do_GET(self):
        body = self.objects.get(self.path)
        self._reply(200, body) if body is not None else self._reply(404, b"missing")

    def _reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Network:
    """Just enough of a base server: verifies signatures over the raw body bytes."""

    def __init__(self, http_base: str) -> None:
        self.http_base = http_base
        self.programs: dict[bytes, bytes] = {}
        self.requests: dict[bytes, pb.RequestProofRequestBody] = {}
        self.peers: list[str] = []
        self.signers: list[bytes] = []
        self.block = threading.Event()
        self.n = 0

    def _peer(self, ctx):
        self.peers.append(ctx.peer())

    def create_artifact(self, raw, ctx):
        self._peer(ctx)
        req = artifact_pb2.CreateArtifactRequest.FromString(raw)
        self.signers.append(signing.recover_signer(signing.CREATE_ARTIFACT_MESSAGE, req.signature))
        self.n += 1
        url = f"{self.http_base}/artifacts/{self.n}"
        return artifact_pb2.CreateArtifactResponse(artifact_uri=f"art-{self.n}", artifact_presigned_url=url).SerializeToString()

    def _verified_body(self, raw, body_cls):
        fmt, sig, body = protowire.split_signed_envelope(raw)
        assert fmt == pb.BINARY
        self.signers.append(signing.recover_signer(body, sig))
        return body_cls.FromString(body)

    def get_program(self, raw, ctx):
        self._peer(ctx)
        vk_hash = pb.GetProgramRequest.FromString(raw).vk_hash
        if vk_hash not in self.programs:
            ctx.abort(grpc.StatusCode.NOT_FOUND, "program not found")
        return pb.GetProgramResponse(program=pb.Program(vk_hash=vk_hash)).SerializeToString()

    def create_program(self, raw, ctx):
        self._peer(ctx)
        body = self._verified_body(raw, pb.CreateProgramRequestBody)
        self.programs[body.vk_hash] = body.program_uri.encode()
        return pb.CreateProgramResponse(tx_hash=bytes(32)).SerializeToString()

    def get_nonce(self, raw, ctx):
        self._peer(ctx)
        assert pb.GetNonceRequest.FromString(raw).address == ADDRESS
        return pb.GetNonceResponse(nonce=len(self.signers)).SerializeToString()

    def request_proof(self, raw, ctx):
        self._peer(ctx)
        body = self._verified_body(raw, pb.RequestProofRequestBody)
        rid = bytes([len(self.requests) + 1]) * 32
        self.requests[rid] = body
        Store.objects[f"/proofs/{rid.hex()}"] = plonk_fixture(body.version.removeprefix("sp1-"))
        return pb.RequestProofResponse(tx_hash=bytes(32), body=pb.RequestProofResponseBody(request_id=rid)).SerializeToString()

    def status(self, raw, ctx):
        self._peer(ctx)
        rid = pb.GetProofRequestStatusRequest.FromString(raw).request_id
        if rid == b"\xee" * 32:
            self.block.wait(10)  # never answered in time: the client's 60 s timeout (shortened)
        body = self.requests[rid]
        return pb.GetProofRequestStatusResponse(
            fulfillment_status=pb.FULFILLED, execution_status=pb.EXECUTED, deadline=body.deadline,
            proof_uri=f"{self.http_base}/proofs/{rid.hex()}").SerializeToString()

    def handlers(self):
        u = grpc.unary_unary_rpc_method_handler
        return [
            grpc.method_handlers_generic_handler("artifact.ArtifactStore", {"CreateArtifact": u(self.create_artifact)}),
            grpc.method_handlers_generic_handler("network.ProverNetwork", {
                "GetProgram": u(self.get_program), "CreateProgram": u(self.create_program),
                "GetNonce": u(self.get_nonce), "RequestProof": u(self.request_proof),
                "GetProofRequestStatus": u(self.status)}),
        ]


@pytest.fixture
def network():
    Store.objects, Store.headers_seen = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Store)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    net = Network(f"http://127.0.0.1:{httpd.server_address[1]}")
    server = grpc.server(futures.ThreadPoolExecutor(8), handlers=net.handlers(), options=[
        ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 0)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    net.url = f"http://127.0.0.1:{port}"
    yield net
    net.block.set()
    server.stop(None)
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("profile", ["5.0", "5.2", "6.x"])
def test_prove_end_to_end_over_grpc(network, profile):
    elf = b"\x7fELF" + bytes(64)
    stdin = bincode.SP1Stdin([b"\x05" + bytes(7)]).encode()
    with NetworkClient(network.url, KEY, profile, sleep=lambda s: None) as c:
        proof = c.prove(b"\x09" * 32, b"vk", elf, stdin, "plonk")
    version = "v6.1.0" if profile == "6.x" else "v5.0.0"
    assert proof == plonk_fixture(version)
    assert set(network.signers) == {ADDRESS}  # all four signatures recover to the key
    program_body, stdin_body = Store.objects["/artifacts/1"], Store.objects["/artifacts/2"]
    if profile == "6.x":
        assert program_body[:4] == stdin_body[:4] == ZSTD_MAGIC
        program_body, stdin_body = zstd_decompress(program_body), zstd_decompress(stdin_body)
    assert bincode.decode_elf_artifact(program_body) == elf and stdin_body == stdin
    assert all("Content-Type" not in h for h in Store.headers_seen)
    connections = len(set(network.peers))
    assert connections == (1 if profile == "6.x" else len(network.peers))  # §7.1 channel policy


def test_client_side_rpc_timeout_is_cancelled(network):
    network.requests[b"\xee" * 32] = pb.RequestProofRequestBody(deadline=1)
    c = NetworkClient(network.url, KEY, "5.0", rpc_timeout=0.2)
    with pytest.raises(RpcError, match="CANCELLED") as e:
        c.get_proof_status(b"\xee" * 32)  # 5.0: CANCELLED is permanent, so no retries
    assert e.value.code is grpc.StatusCode.CANCELLED


def test_unreachable_server_is_unavailable():
    c = NetworkClient("http://127.0.0.1:1", None, "5.0", retry_budget=0)
    with pytest.raises(RpcError, match="UNAVAILABLE"):
        c.get_nonce("0x" + "00" * 20)


def test_bad_rpc_url():
    from network_lib.client import ClientError

    with pytest.raises(ClientError, match="invalid RPC URL"):
        NetworkClient("127.0.0.1:9000", None)
