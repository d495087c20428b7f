"""`backend = "sp1-gpu"` end to end: real twistd contemplants driving the sp1-gpu-server test
double (tests/fake_sp1_gpu_server.py) against a real hierophant."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from network_lib.mockproof import mock_proof
from network_lib.proto import network_pb2 as pb
from tests import fake_sp1_gpu_server as fake
from tests.integration.sp1data import elf, public_values
from tests.integration.test_contemplants import FAST, client, history, status, submit, wait_status
from tests.integration.test_durability import wait_for
from contemplant.backends.sp1_gpu import wire

MODES = {"core": 1, "compressed": 2, "plonk": 3, "groth16": 4}


@pytest.fixture
def sockdir():
    with tempfile.TemporaryDirectory(prefix="sp1g", dir="/tmp") as d:   # AF_UNIX paths are short
        yield Path(d)


@pytest.fixture
def gpu_worker(make_contemplant, sockdir, tmp_path):
    """Start an sp1-gpu contemplant; `circuits=True` stages Plonk/Groth16 files in its HOME."""
    def make(h, name="gpu", circuits=False, env=None, wait=True):
        home = tmp_path / f"home-{name}"
        for kind in ("plonk", "groth16") if circuits else ():
            d = home / ".sp1" / "circuits" / kind / "v6.1.0"
            d.mkdir(parents=True)
            (d / ".complete").touch()
        home.mkdir(exist_ok=True)
        c = make_contemplant(h, name, start=False)
        c.cfg["provers"] = [{"backend": "sp1-gpu", "binary": fake.write_wrapper(sockdir), "gpus": [0],
                             "sp1_version": "6.4.0", "socket_dir": str(sockdir)}]
        return c.start(env={"HOME": str(home), **(env or {})}, wait=wait)
    return make


def records(sockdir: Path, request: str) -> list[dict]:
    f = sockdir / "fake-sp1-cuda-0.jsonl"
    rows = [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []
    return [r for r in rows if r["request"] == request]


def server_proof(mode: int, value: int) -> bytes:
    """What the double returns in `Response::Proof` (payload[4:], §1.5) for `elf()`."""
    vk = fake.derived_vk(wire.program_key(elf()))
    words = [int.from_bytes(vk[i:i + 4], "little") for i in range(0, 32, 4)]
    vk_hash = b"".join(w.to_bytes(4, "big") for w in words)
    return mock_proof(mode, "v6.1.0", vk_hash, public_values(value), vk)


def test_all_four_modes_byte_for_byte_with_one_setup(make_hierophant, gpu_worker, sockdir):
    h = make_hierophant()
    c = gpu_worker(h, circuits=True)
    assert c.listed()["backends"] == ["sp1-gpu"]
    assert sorted(c.listed()["modes"]) == ["COMPRESSED", "CORE", "GROTH16", "PLONK"]
    for mode, number in MODES.items():
        (rid,) = submit(h, mode=mode)
        wait_status(h, rid, pb.FULFILLED)
        with client(h) as net:
            assert net.wait_proof(rid) == server_proof(number, 1000)
    assert len(records(sockdir, "setup")) == 1              # the key is reused: Setup once
    assert [r["mode"] for r in records(sockdir, "prove")] == [1, 2, 3, 4]
    assert "sp1-gpu-server[gpu 0]" in c.log() and "Running setup" in c.log()


def test_without_circuits_plonk_and_groth16_are_never_sent(make_hierophant, gpu_worker, sockdir):
    h = make_hierophant()
    c = gpu_worker(h, circuits=False)
    assert sorted(c.listed()["modes"]) == ["COMPRESSED", "CORE"]
    assert "not serving Plonk proofs: plonk circuit not installed" in c.log()
    rids = [submit(h, mode=m)[0] for m in ("plonk", "groth16")]
    for m in ("PLONK", "GROTH16"):
        wait_for(lambda m=m: f"no connected worker serves {m} proofs for v6.1.0" in h.log(), what=f"the {m} warning")
    (core,) = submit(h, mode="core", program=2)
    wait_status(h, core, pb.FULFILLED)                     # the worker is alive and serving
    assert [status(h, r).fulfillment_status for r in rids] == [pb.REQUESTED] * 2
    assert [r["mode"] for r in records(sockdir, "prove")] == [1]


def test_a_server_crash_mid_proof_is_survived(make_hierophant, gpu_worker, sockdir):
    h = make_hierophant(scheduler=FAST)
    c = gpu_worker(h, env={"FAKE_SP1_FAIL": "crash-once"})
    (rid,) = submit(h, mode="compressed")
    wait_status(h, rid, pb.FULFILLED)
    assert [r["outcome"] for r in history(h, rid)] == ["fulfilled", "infrastructure"]
    with client(h) as net:
        assert net.wait_proof(rid) == server_proof(2, 1000)
    assert "restarting sp1-gpu-server for GPU 0" in c.log()
    assert len({r["pid"] for r in records(sockdir, "setup")}) == 2     # re-Setup on the new server


def test_version_mismatch_stops_the_contemplant(make_hierophant, gpu_worker):
    h = make_hierophant()
    c = gpu_worker(h, env={"FAKE_SP1_FAIL": "version=6.3.0"}, wait=False)
    assert c.wait_exit(30) == 2
    assert "is version '6.3.0' but sp1_version is '6.4.0'" in c.log()
    assert h.contemplants() == []


@pytest.mark.parametrize("fail,detail", [("prover-error", "ProverError on ProveWithMode"),
                                         ("internal-error", "InternalError on ProveWithMode"),
                                         ("malformed", "malformed reply to ProveWithMode")])
def test_error_replies_fail_the_attempt_and_it_is_retried(make_hierophant, gpu_worker, fail, detail):
    h = make_hierophant(scheduler={**FAST, "max_infra_retries": 1})
    gpu_worker(h, env={"FAKE_SP1_FAIL": fail})
    (rid,) = submit(h)
    wait_status(h, rid, pb.UNFULFILLABLE)
    records_ = history(h, rid)
    assert [r["outcome"] for r in records_] == ["infrastructure"] * 2
    assert all(detail in r["detail"] for r in records_)


def test_the_server_does_not_outlive_a_killed_contemplant(make_hierophant, gpu_worker, sockdir):
    h = make_hierophant()
    c = gpu_worker(h)
    pid = int((sockdir / "sp1-cuda-0.pid").read_text().split()[0])
    assert Path(f"/proc/{pid}").exists()
    c.kill9()
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid), what="the server to die")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
