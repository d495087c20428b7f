"""Artifact bodies and HTTP transfers (sdk-network-contract.md §4)."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager

import pytest
import zstandard

from network_lib.bincode import SP1Stdin
from network_lib.protowire import split_signed_envelope
from network_lib.client import DownloadError, HttpStatusError, NetworkClient, TransportError
from network_lib.client import artifacts
from network_lib.client.artifacts import Payload, http_get, http_put, zstd_compress, zstd_decompress
from network_lib.client.testing import FakeHttp, FakeTransport, artifact_handler, nonce_counter, request_ok
from network_lib.proto import network_pb2 as pb

KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _compressed(data: bytes) -> bytes:
    p = zstd_compress(Payload([data]))
    try:
        return b"".join(p.chunks())
    finally:
        p.close()


def test_zstd_frame_has_magic_and_no_content_size():
    frame = _compressed(b"hello " * 1000)
    assert frame[:4] == bytes.fromhex("28b52ffd")
    params = zstandard.get_frame_parameters(frame)
    assert params.content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert not params.has_checksum
    with pytest.raises(zstandard.ZstdError, match="content size"):
        zstandard.ZstdDecompressor().decompress(frame)
    assert zstd_decompress(frame) == b"hello " * 1000


def test_zstd_empty_and_multi_part_payloads():
    assert zstd_decompress(_compressed(b"")) == b""
    p = zstd_compress(Payload([b"ab", b"", b"cd"]))
    assert zstd_decompress(b"".join(p.chunks())) == b"abcd"
    assert b"".join(p.chunks()) == b"".join(p.chunks())  # re-readable for retries


def test_file_payload_streams_in_chunks(tmp_path):
    f = tmp_path / "big"
    data = bytes(range(256)) * (3 * artifacts.CHUNK // 256 + 7)
    f.write_bytes(data)
    p = Payload([b"HDR", f])
    chunks = list(p.chunks())
    assert p.length == 3 + len(data)
    assert max(len(c) for c in chunks) <= artifacts.CHUNK and len(chunks) >= 4
    assert b"".join(chunks) == b"HDR" + data
    assert zstd_decompress(b"".join(zstd_compress(Payload([f])).chunks())) == data


def _client(profile: str) -> tuple[NetworkClient, FakeTransport, FakeHttp]:
    t = FakeTransport({"CreateArtifact": artifact_handler("http://h/a"), "GetNonce": nonce_counter(),
                       "RequestProof": request_ok()})
    http = FakeHttp()
    return NetworkClient("http://x:1", KEY, profile, transport=t, http=http), t, http


@pytest.mark.parametrize("profile", ["5.0", "5.2"])
def test_5x_uploads_raw_bincode(profile, tmp_path):
    c, _, http = _client(profile)
    stdin = SP1Stdin([b"\xe8\x03\x00\x00\x00\x00\x00\x00"]).encode()
    c.request_proof(b"\x01" * 32, stdin)
    assert http.puts == {"http://h/a/stdin/1": stdin}


def test_6x_uploads_zstd_from_file_and_sp1stdin(tmp_path):
    c, t, http = _client("6.x")
    stdin = SP1Stdin([b"x" * 5000])
    path = tmp_path / "stdin.bin"
    path.write_bytes(stdin.encode())
    c.request_proof(b"\x01" * 32, path)
    c.request_proof(b"\x01" * 32, stdin, private_stdin=True)
    first, second = http.puts["http://h/a/stdin/1"], http.puts["http://h/a/private_stdin/2"]
    for body in (first, second):
        assert body[:4] == artifacts.ZSTD_MAGIC
        assert zstd_decompress(body) == stdin.encode()
    body = pb.RequestProofRequestBody.FromString(split_signed_envelope(t.raw("RequestProof")[1])[2])
    assert body.stdin_private and body.stdin_uri == "http://h/a/private_stdin/2"


def test_private_stdin_and_hosted_need_6x():
    c, _, _ = _client("5.0")
    with pytest.raises(ValueError, match="private stdin"):
        c.request_proof(b"\x01" * 32, b"", private_stdin=True)
    with pytest.raises(ValueError, match="hosted"):
        c.request_proof(b"\x01" * 32, b"", hosted=True)


# --- real http.client against a loopback server ---------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    store: dict = {}
    seen: list = []

    def log_message(self, *a):  # keep test output quiet
        pass

    def do_PUT(self):
        self.seen.append(dict(self.headers))
        if self.path.startswith("/reject"):
            return self._reply(413, b"artifact too large: limit 10 bytes")
        n = int(self.headers["Content-Length"])
        self.store[self.path] = self.rfile.read(n)
        self._reply(200, b"")

    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/obj")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.store.get(self.path)
        self._reply(200, body) if body is not None else self._reply(404, b"no such artifact")

    def _reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _server():
    _Handler.store, _Handler.seen = {}, []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_http_put_and_get_roundtrip_without_content_type(tmp_path):
    with _server() as base:
        http_put(base + "/obj", Payload([b"abc", b"def"]), timeout=10)
        (headers,) = _Handler.seen
        assert "Content-Type" not in headers and headers["Content-Length"] == "6"
        assert http_get(base + "/obj", timeout=10) == b"abcdef"
        assert http_get(base + "/redirect", timeout=10) == b"abcdef"
        with open(tmp_path / "out", "wb") as f:
            assert http_get(base + "/obj", timeout=10, dest=f) == b""
        assert (tmp_path / "out").read_bytes() == b"abcdef"


def test_http_errors_carry_status_and_body():
    with _server() as base:
        with pytest.raises(HttpStatusError, match="Failed to upload artifact: HTTP 413: artifact too large") as e:
            http_put(base + "/reject", Payload([b"x" * 100]), timeout=10)
        assert e.value.status == 413
        with pytest.raises(HttpStatusError, match="Failed to download artifact: HTTP 404: no such artifact"):
            http_get(base + "/missing", timeout=10)


def test_connection_failures_put_transient_get_permanent():
    with _server() as base:
        pass  # closed: nothing listens on that port any more
    with pytest.raises(TransportError, match="error sending request for url"):
        http_put(base + "/x", Payload([b"x"]), timeout=10)
    with pytest.raises(DownloadError, match="Failed to download from URI"):
        http_get(base + "/x", timeout=10)


def test_bad_artifact_url():
    with pytest.raises(Exception, match="absolute http"):
        http_put("ftp://x/y", Payload([b""]))
