"""The `command` backend in a real contemplant, through a real hierophant
(docs/command-backend.md): proofs arrive byte for byte, `program` and `infrastructure`
exits are retried within the hierophant's budgets, and a cancel kills the prover's group."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from network_lib.mockproof import mock_proof
from network_lib.proto import network_pb2 as pb
from tests.integration.harness import REPO
from tests.integration.sp1data import public_values, vk, vk_hash
from tests.integration.test_contemplants import FAST, client, history, submit, wait_status
from tests.integration.test_durability import wait_for

# Writes a valid mock proof (the test guest commits its first input as public values) and a
# copy of it; or fails / hangs, as $BEHAVIOUR says.
SCRIPT = textwrap.dedent('''
    import json, os, subprocess, sys, time
    from network_lib.bincode import SP1Stdin
    from network_lib.mockproof import mock_proof
    env, out = os.environ, os.environ["COPY_DIR"]
    print(json.dumps({"phase": "execute", "percent": 10, "cycles": 5}), flush=True)
    what = env["BEHAVIOUR"]
    if what == "ok":
        pv = SP1Stdin.decode(open(env["PROVER_STDIN"], "rb").read()).buffers[0]
        vk = open(env["PROVER_VK"], "rb").read()
        proof = mock_proof(int(env["PROVER_MODE_NUMBER"]), env["PROVER_CIRCUIT_VERSION"],
                           bytes.fromhex(env["PROVER_VK_HASH"][2:]), pv, vk)
        open(env["PROVER_OUT"], "wb").write(proof)
        open(f"{out}/{env['PROVER_REQUEST_ID']}.bin", "wb").write(proof)
        sys.exit(0)
    if what == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open(f"{out}/pids.tmp", "w").write(f"{os.getpid()} {child.pid}")
        os.replace(f"{out}/pids.tmp", f"{out}/pids")
        time.sleep(600)
    print("the guest panicked", file=sys.stderr)
    sys.exit(int(what))
''')


def command_contemplant(make_contemplant, h, tmp_path: Path, behaviour: str, name: str = "cmd",
                        command: str | None = None, **prover):
    script = tmp_path / "prover.py"
    script.write_text(SCRIPT)
    copies = tmp_path / f"copies-{name}"
    copies.mkdir()
    c = make_contemplant(h, name, start=False)
    c.cfg["provers"] = [{"backend": "command", "command": command or f"{sys.executable} {script}",
                         "sp1_version": "6.4.0", **prover}]
    c.start(env={"BEHAVIOUR": behaviour, "COPY_DIR": str(copies)})
    return c, copies


def test_proof_is_byte_for_byte_what_the_command_wrote(make_hierophant, make_contemplant, tmp_path):
    h = make_hierophant()
    c, copies = command_contemplant(make_contemplant, h, tmp_path, "ok", modes=[1, 2], slots=2)
    caps = c.listed()
    assert caps["hardware"]["cpus"] >= 1
    (rid,) = submit(h, mode="compressed")
    wait_status(h, rid, pb.FULFILLED)
    with client(h) as cl:
        proof = cl.wait_proof(rid)
    assert proof == (copies / f"0x{rid.hex()}.bin").read_bytes()
    assert [r["outcome"] for r in history(h, rid)] == ["fulfilled"]


def test_the_example_wrapper_proves(make_hierophant, make_contemplant, tmp_path):
    h = make_hierophant()
    command_contemplant(make_contemplant, h, tmp_path, "ok",
                        command=f"{sys.executable} {REPO / 'etc' / 'command-prover-example.py'}")
    (rid,) = submit(h, mode="plonk")
    wait_status(h, rid, pb.FULFILLED)
    with client(h) as cl:
        assert cl.wait_proof(rid) == mock_proof(3, "v6.1.0", vk_hash(1), public_values(1000), vk())


def test_program_exits_are_retried_up_to_max_attempts(make_hierophant, make_contemplant, tmp_path):
    h = make_hierophant(scheduler={**FAST, "max_attempts": 2})
    c, _ = command_contemplant(make_contemplant, h, tmp_path, "3")
    (rid,) = submit(h)
    wait_status(h, rid, pb.UNFULFILLABLE)
    records = history(h, rid)
    assert [r["outcome"] for r in records] == ["program"] * 2
    assert "exited with status 3" in c.log() and "the guest panicked" in c.log()


def test_infrastructure_exits_are_retried_up_to_max_infra_retries(make_hierophant, make_contemplant, tmp_path):
    h = make_hierophant(scheduler={**FAST, "max_infra_retries": 1})
    command_contemplant(make_contemplant, h, tmp_path, "1")
    (rid,) = submit(h)
    wait_status(h, rid, pb.UNFULFILLABLE)
    assert [r["outcome"] for r in history(h, rid)] == ["infrastructure"] * 2


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_cancel_kills_the_command_and_its_children(make_hierophant, make_contemplant, tmp_path):
    h = make_hierophant(scheduler={**FAST, "deadline_grace_secs": 0})
    c, copies = command_contemplant(make_contemplant, h, tmp_path, "hang")
    (rid,) = submit(h, timeout_secs=4)          # given up at the deadline: the attempt is cancelled
    pids = [int(p) for p in wait_for(lambda: (copies / "pids").exists() and (copies / "pids").read_text(),
                                     what="the prover to start").split()]
    assert all(_alive(p) for p in pids)
    wait_status(h, rid, pb.UNFULFILLABLE)
    wait_for(lambda: not any(_alive(p) for p in pids), what="the prover's processes to die")
    wait_for(lambda: "cancelled by the hierophant" in c.log(), what="the cancel in the log")
    assert c.proc.poll() is None                 # the contemplant itself carries on
