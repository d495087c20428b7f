"""No process outlives its daemon (issue 8): `kill -9` after executing leaves nothing behind."""
from __future__ import annotations

from network_lib.proto import network_pb2 as pb
from tests.integration.harness import session_processes, wait_session_empty
from tests.integration.test_contemplants import submit, wait_status
from tests.integration.test_durability import wait_for
from tests.integration.test_execution import details


def test_kill9_of_a_hierophant_after_an_execution_leaves_no_process(make_hierophant):
    h = make_hierophant()
    (rid,) = submit(h)
    wait_for(lambda: details(h, rid).execution_status == pb.EXECUTED, what="the execution")
    sid = h.proc.pid
    assert len(session_processes(sid)) >= 2          # the daemon and its execution pool
    h.kill9()
    assert wait_session_empty(sid, timeout=10) == []


def test_kill9_of_a_contemplant_after_proving_leaves_no_process(make_hierophant, make_contemplant):
    h = make_hierophant(execution={"enabled": False})
    c = make_contemplant(h, delay_secs=0.2)
    (rid,) = submit(h)
    wait_status(h, rid, pb.FULFILLED)                 # the mock executed it in its pool
    sid = c.proc.pid
    assert len(session_processes(sid)) >= 2
    c.kill9()
    assert wait_session_empty(sid, timeout=10) == []


def test_kill9_of_a_contemplant_kills_its_command_prover_and_the_prover_children(
        make_hierophant, make_contemplant, tmp_path):
    from tests.integration.test_command_backend import command_contemplant
    h = make_hierophant(execution={"enabled": False})
    c, copies = command_contemplant(make_contemplant, h, tmp_path, "hang")
    submit(h)
    wait_for(lambda: (copies / "pids").exists(), what="the prover and its child to start")
    pids = [int(p) for p in (copies / "pids").read_text().split()]
    c.kill9()
    wait_for(lambda: not any(_alive(p) for p in pids), timeout=10, what="the prover's session to die")


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
