"""The sp1-gpu backend against the test double on the real reactor: Setup caching, LRU
Destroy, failures as `infrastructure`, crash restart, cancel, stray reaping, circuits, version."""
from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from contemplant.backends import build
from contemplant.backends.base import ELF_FILE, STDIN_FILE, BackendFailure
from contemplant.backends.sp1_gpu import circuits, gpu as gpu_mod, server, wire
from contemplant.backends.sp1_gpu.progress import ProgressParser
from contemplant.config import ProverConfig
from network_lib.config import ConfigError
from network_lib.mockproof import mock_proof
from network_lib.worker_protocol import Job
from tests import fake_sp1_gpu_server as fake
from tests.integration import sp1data


@pytest.fixture
def sockdir():
    with tempfile.TemporaryDirectory(prefix="sp1g", dir="/tmp") as d:
        yield Path(d)


def prover(sockdir: Path, **kw) -> ProverConfig:
    return ProverConfig(**{"backend": "sp1-gpu", "binary": fake.write_wrapper(sockdir), "gpus": (0,),
                           "sp1_version": "6.4.0", "launch": "spawn", "socket_dir": str(sockdir), **kw})


def job(mode: int = 1, attempt: int = 1, total_cycles=None) -> Job:
    return Job(request_id="0x" + "ab" * 32, attempt=attempt, mode=mode, circuit_version="v6.1.0",
               vk_hash="0x" + "00" * 32, vk=base64.b64encode(sp1data.vk()).decode(), elf_url="",
               stdin_url="", proof_upload_url="", deadline=2**40, cycle_limit=10**9,
               nonce=[5, 6, 7, 8], total_cycles=total_cycles)


def workdir(base: Path, name: str, elf: bytes, value: int = 1) -> Path:
    d = base / name
    d.mkdir()
    (d / ELF_FILE).write_bytes(elf)
    (d / STDIN_FILE).write_bytes(sp1data.stdin(value))
    return d


def records(sockdir: Path, request: str | None = None) -> list[dict]:
    f = sockdir / "fake-sp1-cuda-0.jsonl"
    rows = [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []
    return [r for r in rows if request is None or r["request"] == request]


def expected_proof(elf: bytes, mode: int, value: int) -> bytes:
    vk = fake.derived_vk(wire.program_key(elf))
    vk_hash = b"".join(w.to_bytes(4, "big") for w in
                       (int.from_bytes(vk[i:i + 4], "little") for i in range(0, 32, 4)))
    return mock_proof(mode, "v6.1.0", vk_hash, sp1data.public_values(value), vk)


@pytest.fixture
def backend_factory(sockdir, monkeypatch):
    made = []

    @defer.inlineCallbacks
    def make(env: dict | None = None, **kw):
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        b = build(prover(sockdir, **kw), 0)
        made.append(b)
        yield b.start()
        return b
    yield make
    for b in made:
        pytest_twisted.blockon(b.stop())


# -- against the double -----------------------------------------------------------------------
@pytest_twisted.inlineCallbacks
def test_proofs_are_the_servers_bytes_and_setup_is_cached(backend_factory, sockdir, tmp_path):
    b = yield backend_factory(env={"HOME": str(tmp_path)})
    assert b.capabilities.modes == (1, 2) and b.capabilities.circuit_versions == ("v6.1.0",)
    seen = []
    for i, mode in enumerate((1, 2, 1)):
        path = yield b.prove(job(mode, attempt=i + 1, total_cycles=12),
                             workdir(tmp_path, f"w{i}", sp1data.elf(), 3), lambda *a: seen.append(a))
        assert path.read_bytes() == expected_proof(sp1data.elf(), mode, 3)
    assert len(records(sockdir, "setup")) == 1
    assert records(sockdir, "prove")[0]["nonce"] == [5, 6, 7, 8]
    phases = [p[0] for p in seen]
    assert phases[0] == "setup" and {"execute", "prove", "compress"} <= set(phases)
    assert ("execute", 50.0, 6) in seen                        # global_clk / total_cycles


@pytest_twisted.inlineCallbacks
def test_lru_eviction_destroys_the_oldest_key(backend_factory, sockdir, tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_mod, "MAX_KEYS", 1)
    b = yield backend_factory()
    for i, tag in enumerate((b"a", b"b")):
        yield b.prove(job(attempt=i + 1), workdir(tmp_path, f"w{i}", sp1data.elf(tag)), lambda *a: None)
    destroyed = records(sockdir, "destroy")
    assert [d["key"] for d in destroyed] == [wire.program_key(sp1data.elf(b"a")).hex()]


@pytest.mark.parametrize("fail,text", [("prover-error", "ProverError on ProveWithMode: proving failed"),
                                       ("internal-error", "InternalError on ProveWithMode: injected"),
                                       ("malformed", "malformed reply to ProveWithMode")])
@pytest_twisted.inlineCallbacks
def test_error_replies_are_infrastructure_failures(backend_factory, tmp_path, fail, text):
    b = yield backend_factory(env={"FAKE_SP1_FAIL": fail})
    with pytest.raises(BackendFailure) as e:
        yield b.prove(job(), workdir(tmp_path, "w", sp1data.elf()), lambda *a: None)
    assert e.value.kind == "infrastructure" and text in e.value.message
    assert b.gpus[0].job is None                                # the slot is free again


@pytest_twisted.inlineCallbacks
def test_a_crash_mid_proof_fails_the_attempt_and_the_server_restarts(backend_factory, sockdir, tmp_path):
    b = yield backend_factory(env={"FAKE_SP1_FAIL": "crash-once"})
    with pytest.raises(BackendFailure) as e:
        yield b.prove(job(), workdir(tmp_path, "w1", sp1data.elf()), lambda *a: None)
    assert e.value.kind == "infrastructure" and "went away during ProveWithMode" in e.value.message
    path = yield b.prove(job(attempt=2), workdir(tmp_path, "w2", sp1data.elf()), lambda *a: None)
    assert path.read_bytes() == expected_proof(sp1data.elf(), 1, 1)
    assert len({r["pid"] for r in records(sockdir, "setup")}) == 2   # re-Setup on the new server


@pytest_twisted.inlineCallbacks
def test_cancel_kills_the_server_and_a_new_one_serves_the_next_job(backend_factory, sockdir, tmp_path):
    b = yield backend_factory(env={"FAKE_SP1_DELAY": "30"})
    first_pid = b.gpus[0].server.transport.pid
    d = b.prove(job(), workdir(tmp_path, "w1", sp1data.elf()), lambda *a: None)
    while not records(sockdir, "prove"):
        yield task.deferLater(reactor, 0.02, lambda: None)
    b.cancel(job())
    with pytest.raises(defer.CancelledError):
        yield d
    while b.gpus[0].server.transport is None or b.gpus[0].server.transport.pid == first_pid:
        yield task.deferLater(reactor, 0.02, lambda: None)
    assert server.reap_stray(Path("/nonexistent")) is None


@pytest_twisted.inlineCallbacks
def test_a_stray_server_of_a_previous_run_is_killed_at_start(backend_factory, sockdir):
    stray = subprocess.Popen([fake.write_wrapper(sockdir)], env={
        "CUDA_VISIBLE_DEVICES": "0", "SP1_GPU_SOCKET_DIR": str(sockdir), "PATH": "/usr/bin:/bin"})
    while server._start_time(stray.pid) is None:
        yield task.deferLater(reactor, 0.02, lambda: None)
    server.record_pid(server.pid_file(str(sockdir), 0), stray.pid)
    b = yield backend_factory()
    assert stray.wait(10) == -9
    assert b.gpus[0].server.transport.pid != stray.pid


# -- start-up checks ----------------------------------------------------------------------------
def test_version_mismatch_and_missing_binary_are_config_errors(sockdir, monkeypatch):
    monkeypatch.setenv("FAKE_SP1_FAIL", "version=6.3.0")
    with pytest.raises(ConfigError, match="version '6.3.0' but sp1_version is '6.4.0'"):
        build(prover(sockdir), 0)
    with pytest.raises(ConfigError, match="does not exist"):
        build(prover(sockdir, binary=str(sockdir / "nope")), 0)
    with pytest.raises(ConfigError, match="launch"):
        build(prover(sockdir, launch="docker"), 0)


@pytest.mark.parametrize("crate,marker,expected", [("6.4.0", True, (3, 4)), ("6.4.0", False, ()),
                                                   ("6.3.1", False, (3, 4))])
def test_snark_modes_need_installed_circuits(tmp_path, crate, marker, expected):
    for kind in ("plonk", "groth16"):
        d = tmp_path / ".sp1" / "circuits" / kind / "v6.1.0"
        d.mkdir(parents=True)
        if marker:
            (d / ".complete").touch()
    modes, why = circuits.snark_modes(crate, "v6.1.0", {"HOME": str(tmp_path)})
    assert modes == expected and (bool(why) == (not expected))
    env = {"HOME": "/nonexistent", "SP1_PLONK_CIRCUIT_PATH": str(tmp_path / ".sp1/circuits/plonk")}
    assert circuits.snark_modes(crate, "v6.1.0", env)[0] == expected[:1]


def test_progress_parser_follows_the_log_events():
    seen = []
    p = ProgressParser(lambda *a: seen.append(a), lambda: 1000)
    for line in ["2025-01-01T00:00:00Z  INFO sp1_gpu_server::server: Running setup",
                 "x  INFO sp1_gpu_server::server: Proving with mode: Core",
                 "x DEBUG t: starting new shard at clk: 0 at pc: 0x200000",
                 "x DEBUG t: shard boundary global_clk=400 pc=1 clk=0",
                 "x DEBUG t: starting new shard at clk: 400 at pc: 0x200000",
                 "x DEBUG t: minimal Executor finished. elapsed: 1.0s, mhz: 2.0",
                 "x DEBUG t: Number of core proofs completed: 1",
                 "x DEBUG t: All core proofs received: number of core proofs: 2",
                 "stdout: unrelated guest output"]:
        p.feed(line)
    assert seen == [("setup",), ("execute", 0.0), ("execute", 0.0, 0), ("execute", 40.0, 400),
                    ("execute", 40.0, 400), ("execute", 100.0, 400), ("prove", 50.0), ("compress",)]


@pytest_twisted.inlineCallbacks
def test_external_launch_connects_to_an_operators_server(backend_factory, sockdir, tmp_path):
    ext = subprocess.Popen([fake.write_wrapper(sockdir)], env={
        "CUDA_VISIBLE_DEVICES": "0", "SP1_GPU_SOCKET_DIR": str(sockdir), "PATH": "/usr/bin:/bin"})
    try:
        b = yield backend_factory(launch="external")      # patient connect: it may not listen yet
        path = yield b.prove(job(), workdir(tmp_path, "w", sp1data.elf(), 9), lambda *a: None)
        assert path.read_bytes() == expected_proof(sp1data.elf(), 1, 9)
        assert b.gpus[0].server is None
    finally:
        ext.kill()
        ext.wait()
