"""The `command` backend (docs/command-backend.md): arguments and environment, progress
lines, exit statuses, and real child processes (success, failures, cancel kills the group)."""
from __future__ import annotations

import base64
import sys
import textwrap
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from contemplant.backends import build
from contemplant.backends.base import ELF_FILE, PROOF_FILE, STDIN_FILE, BackendFailure
from contemplant.backends.command import (CommandBackend, exit_failure, job_arguments, job_environment,
                                          parse_progress)
from contemplant.config import ProverConfig
from network_lib.config import ConfigError
from network_lib.worker_protocol import Job

VK = bytes(range(104))
WAIT_SECS = 10


def job(mode=3, total_cycles=None, **kw) -> Job:
    return Job(request_id="0x" + "ab" * 32, attempt=2, mode=mode, circuit_version="v6.1.0",
               vk_hash="0x" + "11" * 32, vk=base64.b64encode(VK).decode(), elf_url="http://x/elf",
               stdin_url="http://x/stdin", proof_upload_url="http://x/proof", deadline=1_900_000_000,
               cycle_limit=1000, nonce=[1, 2, 3, 4], total_cycles=total_cycles, **kw)


def prover(command: str, **kw) -> ProverConfig:
    return ProverConfig(**{"backend": "command", "command": command, "slots": 2, "modes": (1, 2, 3, 4),
                           "sp1_version": "6.4.0", **kw})


# -- pure parts ----------------------------------------------------------------------------
def test_environment_carries_every_job_parameter(tmp_path):
    env = job_environment(job(total_cycles=777), tmp_path)
    assert env == {
        "PROVER_ELF": str(tmp_path / ELF_FILE), "PROVER_STDIN": str(tmp_path / STDIN_FILE),
        "PROVER_OUT": str(tmp_path / PROOF_FILE), "PROVER_VK": str(tmp_path / "vk.bin"),
        "PROVER_WORKDIR": str(tmp_path), "PROVER_MODE": "plonk", "PROVER_MODE_NUMBER": "3",
        "PROVER_CIRCUIT_VERSION": "v6.1.0", "PROVER_NONCE": "1,2,3,4", "PROVER_VK_HASH": "0x" + "11" * 32,
        "PROVER_CYCLE_LIMIT": "1000", "PROVER_TOTAL_CYCLES": "777", "PROVER_REQUEST_ID": "0x" + "ab" * 32,
        "PROVER_ATTEMPT": "2", "PROVER_DEADLINE": "1900000000"}


@pytest.mark.parametrize("total,tail", [(None, []), (5, ["--total-cycles", "5"])])
def test_arguments(tmp_path, total, tail):
    args = job_arguments(job_environment(job(mode=1, total_cycles=total), tmp_path))
    assert args == ["--elf", str(tmp_path / ELF_FILE), "--stdin", str(tmp_path / STDIN_FILE),
                    "--out", str(tmp_path / PROOF_FILE), "--mode", "core", "--circuit-version", "v6.1.0",
                    "--nonce", "1,2,3,4", "--vk-hash", "0x" + "11" * 32, "--cycle-limit", "1000", *tail]


def test_command_line_splits_like_a_shell_and_keeps_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    b = CommandBackend(prover("/usr/bin/env 'a b' --flag"))
    argv, env = b.command_line(job(), tmp_path)
    assert argv[:3] == ["/usr/bin/env", "a b", "--flag"] and argv[3] == "--elf"
    assert env["SOMETHING_ELSE"] == "kept" and env["PROVER_MODE"] == "plonk"


@pytest.mark.parametrize("line,expected", [
    ('{"phase": "prove", "percent": 42, "cycles": 123}', ("prove", 42.0, 123)),
    ('{"phase": "execute"}', ("execute", None, None)),
    ('{"phase": "x", "percent": 250, "cycles": -1}', ("x", 100.0, None)),
    ('{"phase": "x", "percent": "10", "cycles": 1.5}', ("x", None, None)),
    ('{"percent": 10}', None), ('{not json', None), ("plain text", None), ("[1, 2]", None), ("", None),
])
def test_parse_progress(line, expected):
    assert parse_progress(line) == expected


def test_exit_statuses(tmp_path):
    proof = tmp_path / "proof.bin"
    assert exit_failure(0, None, [], proof).kind == "infrastructure"      # no proof written
    proof.write_bytes(b"")
    assert "wrote no proof" in exit_failure(0, None, [], proof).message
    proof.write_bytes(b"p")
    assert exit_failure(0, None, [], proof) is None
    f = exit_failure(3, None, ["guest panicked"], proof)
    assert (f.kind, f.message) == ("program", "the prover command exited with status 3; stderr: guest panicked")
    assert exit_failure(1, None, [], proof).kind == "infrastructure"
    assert exit_failure(4, None, [], proof).kind == "infrastructure"
    assert "signal 9" in exit_failure(None, 9, [], proof).message


def test_capabilities_from_the_crate_version():
    b = build(prover("true", sp1_version="5.2.4", modes=(3, 4), slots=3), 0)
    assert isinstance(b, CommandBackend)
    assert (b.capabilities.backend, b.capabilities.circuit_versions, b.capabilities.modes,
            b.capabilities.slots) == ("command", ("v5.0.0",), (3, 4), 3)
    assert CommandBackend(prover("true", sp1_version="6.0.1")).capabilities.circuit_versions == ("v6.0.0",)


def test_unknown_crate_version_is_a_config_error():
    with pytest.raises(ConfigError, match="sp1_version"):
        CommandBackend(prover("true", sp1_version="7.0.0"))


def test_missing_executable_fails_start():
    failures = []
    CommandBackend(prover("/nonexistent/prover --x")).start().addErrback(failures.append)
    assert failures and failures[0].check(ConfigError)


# -- real processes ------------------------------------------------------------------------
SCRIPT = textwrap.dedent('''
    import json, os, subprocess, sys, time
    env = os.environ
    args = sys.argv[1:]
    assert args[args.index("--out") + 1] == env["PROVER_OUT"]
    what = open(env["PROVER_WORKDIR"] + "/what").read()
    print("hello from the prover")
    print(json.dumps({"phase": "execute", "percent": 50, "cycles": 10}), flush=True)
    print("a warning", file=sys.stderr, flush=True)
    if what == "ok":
        vk = open(env["PROVER_VK"], "rb").read()
        open(env["PROVER_OUT"], "wb").write(b"PROOF:" + env["PROVER_MODE"].encode() + b":" + vk[:4])
        sys.exit(0)
    if what == "program":
        print("guest panicked: boom", file=sys.stderr)
        sys.exit(3)
    if what == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open(env["PROVER_WORKDIR"] + "/pids", "w").write(f"{os.getpid()} {child.pid}")
        print(json.dumps({"phase": "hanging"}), flush=True)
        time.sleep(600)
    sys.exit(int(what))
''')


def _prove(tmp_path: Path, what: str):
    script = tmp_path / "prover.py"
    script.write_text(SCRIPT)
    work = tmp_path / "job"
    work.mkdir()
    (work / "what").write_text(what)
    backend = CommandBackend(prover(f"{sys.executable} {script}"))
    events: list = []
    phases: dict[str, defer.Deferred] = {}

    def progress(phase, percent=None, cycles=None):
        events.append((phase, percent, cycles))
        if phase in phases and not phases[phase].called:
            phases[phase].callback(None)
    phases["hanging"] = defer.Deferred()
    j = job()
    d = backend.prove(j, work, progress)
    return backend, j, d, events, phases, work


@pytest_twisted.ensureDeferred
async def test_success_returns_the_written_proof(tmp_path):
    backend, _, d, events, _, work = _prove(tmp_path, "ok")
    path = await d.addTimeout(WAIT_SECS, reactor)
    assert path == work / PROOF_FILE and path.read_bytes() == b"PROOF:plonk:" + VK[:4]
    assert events == [("execute", 50.0, 10)]
    assert not backend._running


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize("what,kind,text", [("program", "program", "status 3; stderr: a warning | guest panicked: boom"),
                                            ("1", "infrastructure", "status 1; stderr: a warning"),
                                            ("7", "infrastructure", "status 7")])
async def test_failures(tmp_path, what, kind, text):
    _, _, d, _, _, _ = _prove(tmp_path, what)
    with pytest.raises(BackendFailure) as e:
        await d.addTimeout(WAIT_SECS, reactor)
    assert e.value.kind == kind and text in e.value.message


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest_twisted.ensureDeferred
async def test_cancel_kills_the_process_group(tmp_path):
    backend, j, d, _, phases, work = _prove(tmp_path, "hang")
    await phases["hanging"].addTimeout(WAIT_SECS, reactor)
    pids = [int(p) for p in (work / "pids").read_text().split()]
    assert all(_alive(p) for p in pids)
    proc = backend._running[(j.request_id, j.attempt)]
    backend.cancel(j)
    d.cancel()                               # what the job table does after backend.cancel
    with pytest.raises(defer.CancelledError):
        await d
    await proc.ended.addTimeout(WAIT_SECS, reactor)
    assert not _alive(pids[0])
    for _ in range(500):                     # the killed grandchild is reaped by init
        if not _alive(pids[1]):
            break
        await _tick()
    assert not _alive(pids[1])
    assert not backend._running


def _tick() -> defer.Deferred:
    d = defer.Deferred()
    reactor.callLater(0.01, d.callback, None)
    return d


@pytest_twisted.ensureDeferred
async def test_stop_kills_running_commands(tmp_path):
    backend, _, d, _, phases, work = _prove(tmp_path, "hang")
    await phases["hanging"].addTimeout(WAIT_SECS, reactor)
    await backend.stop()
    with pytest.raises(BackendFailure, match="signal 9"):
        await d.addTimeout(WAIT_SECS, reactor)
