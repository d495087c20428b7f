"""The sp1-gpu-server test double speaks prover-backends.md §1 byte for byte (blocking client)."""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from contemplant.backends.sp1_gpu import wire
from network_lib.bincode import inspect_proof
from tests import fake_sp1_gpu_server as fake
from tests.integration import sp1data


@pytest.fixture
def sockdir():
    with tempfile.TemporaryDirectory(prefix="sp1g", dir="/tmp") as d:   # AF_UNIX paths are short
        yield Path(d)


def start(sockdir: Path, device: str = "0", **env) -> subprocess.Popen:
    binary = fake.write_wrapper(sockdir)
    proc = subprocess.Popen([binary], env={**os.environ, "CUDA_VISIBLE_DEVICES": device,
                                           "SP1_GPU_SOCKET_DIR": str(sockdir), "RUST_LOG": "debug", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


class Conn:
    def __init__(self, path: Path, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(str(path))
                return
            except OSError:
                self.s.close()
                assert proc.poll() is None and time.monotonic() < deadline, "the double did not listen"
                time.sleep(0.02)

    def raw(self, framed: bytes) -> bytes | None:
        self.s.sendall(framed)
        head = self._exact(4)
        return None if head is None else self._exact(struct.unpack("<I", head)[0])

    def call(self, payload: bytes) -> wire.Response:
        return wire.decode_response(self.raw(wire.frame(payload)))

    def _exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf


@pytest.fixture
def server(sockdir):
    proc = start(sockdir, "3")
    yield proc, Conn(sockdir / "sp1-cuda-3.sock", proc)
    proc.kill()
    proc.wait()


def test_version_prints_the_bare_crate_version(sockdir):
    binary = fake.write_wrapper(sockdir)
    assert subprocess.run([binary, "--version"], capture_output=True, text=True).stdout == "6.4.0\n"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                         env={**os.environ, "FAKE_SP1_FAIL": "version=6.3.0"}).stdout
    assert out == "6.3.0\n"


@pytest.mark.parametrize("device", [None, "0,1", "GPU-1234"])
def test_cuda_visible_devices_must_be_one_u32(sockdir, device):
    env = {**os.environ, "SP1_GPU_SOCKET_DIR": str(sockdir)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    if device is not None:
        env["CUDA_VISIBLE_DEVICES"] = device
    proc = subprocess.run([fake.write_wrapper(sockdir)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 101 and "CUDA_VISIBLE_DEVICES" in proc.stderr


def test_setup_prove_each_mode_and_destroy(server, sockdir):
    proc, conn = server
    elf = sp1data.elf()
    key = wire.program_key(elf)
    setup = conn.call(wire.setup_request(elf))
    assert setup.name == "Setup" and setup.setup_id == key and len(setup.vk) == 104
    for mode in (1, 2, 3, 4):
        r = conn.call(wire.prove_request(mode, key, sp1data.stdin(7), (1, 2, 3, 4)))
        assert r.name == "Proof"
        info = inspect_proof(r.body, mode=mode, circuit_version="v6.1.0",
                             expected_public_values=sp1data.public_values(7))
        assert info.tag == mode - 1
    assert conn.call(wire.destroy_request(key)).name == "Ok"
    missing = conn.call(wire.prove_request(1, key, sp1data.stdin(7)))
    assert missing.name == "InternalError" and "Missing proving key" in missing.message
    records = (sockdir / "fake-sp1-cuda-3.jsonl").read_text().splitlines()
    assert '"nonce": [1, 2, 3, 4]' in records[1]


def test_undecodable_request_gets_internal_error_then_close(server):
    proc, conn = server
    reply = conn.raw(wire.frame(struct.pack("<I", 9)))
    assert wire.decode_response(reply).name == "InternalError"
    rest = b""                                  # ConnectionClosed (best effort), then EOF
    while chunk := conn.s.recv(4096):
        rest += chunk
    assert rest in (b"", wire.frame(wire.encode_response(wire.RESP_CONNECTION_CLOSED)))


def test_per_connection_cache_and_logs(sockdir):
    proc = start(sockdir, "0")
    try:
        first = Conn(sockdir / "sp1-cuda-0.sock", proc)
        key = wire.program_key(sp1data.elf())
        assert first.call(wire.setup_request(sp1data.elf())).name == "Setup"
        second = Conn(sockdir / "sp1-cuda-0.sock", proc)
        assert second.call(wire.prove_request(1, key, sp1data.stdin(1))).name == "InternalError"
    finally:
        proc.send_signal(2)                     # SIGINT: unlinks its socket (§1.2)
        out, err = proc.communicate(timeout=20)
    assert not (sockdir / "sp1-cuda-0.sock").exists()
    assert "Running sp1-gpu-server 6.4.0 with device 0" in err
    assert "\x1b[" in out and "Server listening @" in out and "Running setup" in out


@pytest.mark.parametrize("fail,name", [("prover-error", "ProverError"), ("internal-error", "InternalError")])
def test_injected_error_replies(sockdir, fail, name):
    proc = start(sockdir, "1", FAKE_SP1_FAIL=fail)
    try:
        conn = Conn(sockdir / "sp1-cuda-1.sock", proc)
        key = wire.program_key(sp1data.elf())
        conn.call(wire.setup_request(sp1data.elf()))
        assert conn.call(wire.prove_request(1, key, sp1data.stdin(1))).name == name
    finally:
        proc.kill()
        proc.wait()
