"""The `command` backend: one child process per job, the interface in docs/command-backend.md.

The command (split like a shell would, never run through one) gets the job's files and
parameters as arguments and as `PROVER_*` environment variables, reports progress as JSON
lines on stdout and ends with an exit status: 0 success (the proof file written), 3 the
guest failed (`program`), anything else `infrastructure`. Each child runs in its own
session so `cancel` can kill its whole process group.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path
from typing import Optional

from twisted.internet import defer, protocol

from contemplant.backends.base import (ELF_FILE, PROOF_FILE, STDIN_FILE, Backend, BackendFailure, Capabilities,
                                       ProgressFn)
from contemplant.config import ProverConfig
from network_lib.config import ConfigError
from network_lib.versions import ProofMode, circuit_from_crate_version
from network_lib.worker_protocol import Job

log = logging.getLogger("contemplant.command")

EXIT_OK, EXIT_PROGRAM = 0, 3
VK_FILE = "vk.bin"
MAX_LINE = 64 * 1024          # longer output lines are cut (bounded memory)
STDERR_TAIL = 20              # lines kept for the failure message
KILL_GRACE_SECS = 5.0         # SIGTERM, then SIGKILL
# exec the command in a new session: its pid is then its process group (for killpg)
_SETSID = "import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])"


def job_environment(job: Job, workdir: Path) -> dict[str, str]:
    """The `PROVER_*` variables (docs/command-backend.md)."""
    mode = ProofMode.parse(job.mode)
    return {
        "PROVER_ELF": str(workdir / ELF_FILE), "PROVER_STDIN": str(workdir / STDIN_FILE),
        "PROVER_OUT": str(workdir / PROOF_FILE), "PROVER_VK": str(workdir / VK_FILE),
        "PROVER_WORKDIR": str(workdir),
        "PROVER_MODE": mode.name.lower(), "PROVER_MODE_NUMBER": str(int(mode)),
        "PROVER_CIRCUIT_VERSION": job.circuit_version,
        "PROVER_NONCE": ",".join(str(int(x)) for x in job.nonce),
        "PROVER_VK_HASH": job.vk_hash, "PROVER_CYCLE_LIMIT": str(job.cycle_limit),
        "PROVER_TOTAL_CYCLES": "" if job.total_cycles is None else str(job.total_cycles),
        "PROVER_REQUEST_ID": job.request_id, "PROVER_ATTEMPT": str(job.attempt),
        "PROVER_DEADLINE": str(job.deadline),
    }


def job_arguments(env: dict[str, str]) -> list[str]:
    """The arguments appended to the command, from `job_environment`."""
    args = ["--elf", env["PROVER_ELF"], "--stdin", env["PROVER_STDIN"], "--out", env["PROVER_OUT"],
            "--mode", env["PROVER_MODE"], "--circuit-version", env["PROVER_CIRCUIT_VERSION"],
            "--nonce", env["PROVER_NONCE"], "--vk-hash", env["PROVER_VK_HASH"],
            "--cycle-limit", env["PROVER_CYCLE_LIMIT"]]
    if env["PROVER_TOTAL_CYCLES"]:
        args += ["--total-cycles", env["PROVER_TOTAL_CYCLES"]]
    return args


def parse_progress(line: str) -> Optional[tuple[str, Optional[float], Optional[int]]]:
    """(phase, percent, cycles) from a `{"phase": ..., "percent": ..., "cycles": ...}` line."""
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("phase"), str):
        return None
    percent, cycles = obj.get("percent"), obj.get("cycles")
    if isinstance(percent, bool) or not isinstance(percent, (int, float)):
        percent = None
    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 0:
        cycles = None
    return obj["phase"], None if percent is None else max(0.0, min(100.0, float(percent))), cycles


def exit_failure(code: Optional[int], signal_no: Optional[int], stderr_tail: list[str],
                 proof: Path) -> Optional[BackendFailure]:
    """None for a success, else the failure an ended process means (docs/command-backend.md)."""
    detail = ("; stderr: " + " | ".join(stderr_tail)) if stderr_tail else ""
    if signal_no is not None:
        return BackendFailure("infrastructure", f"the prover command was killed by signal {signal_no}{detail}")
    if code == EXIT_OK:
        if proof.is_file() and proof.stat().st_size > 0:
            return None
        return BackendFailure("infrastructure", f"the prover command exited 0 but wrote no proof to {proof}")
    kind = "program" if code == EXIT_PROGRAM else "infrastructure"
    return BackendFailure(kind, f"the prover command exited with status {code}{detail}")


class _Lines:
    """Splits a byte stream into bounded text lines."""

    def __init__(self, on_line) -> None:
        self.buf, self.on_line = b"", on_line

    def feed(self, data: bytes) -> None:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            self.on_line(line[:MAX_LINE].decode("utf-8", "replace").rstrip("\r"))
        if len(self.buf) > MAX_LINE:
            self.on_line(self.buf[:MAX_LINE].decode("utf-8", "replace"))
            self.buf = b""

    def flush(self) -> None:
        if self.buf:
            self.on_line(self.buf.decode("utf-8", "replace"))
            self.buf = b""


class ProverProcess(protocol.ProcessProtocol):
    """One running command: progress from stdout, a stderr tail, the end as a Deferred."""

    def __init__(self, label: str, progress: ProgressFn) -> None:
        self.label, self.progress = label, progress
        self.stderr_tail: list[str] = []
        self.ended: defer.Deferred = defer.Deferred()   # fires (exit code, signal)
        self.out = _Lines(self._stdout_line)
        self.err = _Lines(self._stderr_line)

    def outReceived(self, data: bytes) -> None:
        self.out.feed(data)

    def errReceived(self, data: bytes) -> None:
        self.err.feed(data)

    def _stdout_line(self, line: str) -> None:
        p = parse_progress(line)
        if p is not None:
            self.progress(*p)
        elif line:
            log.info("job %s prover: %s", self.label, line)

    def _stderr_line(self, line: str) -> None:
        if line:
            log.info("job %s prover (stderr): %s", self.label, line)
            self.stderr_tail = (self.stderr_tail + [line])[-STDERR_TAIL:]

    def processEnded(self, reason) -> None:
        self.out.flush()
        self.err.flush()
        v = reason.value
        self.ended.callback((getattr(v, "exitCode", None), getattr(v, "signal", None)))

    def kill_group(self, sig: int) -> None:
        """Signal the whole process group (the child is its session leader)."""
        pid = self.transport.pid if self.transport is not None else None
        if pid:
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


class CommandBackend(Backend):
    def __init__(self, prover: ProverConfig, reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.argv = shlex.split(prover.command)
        if not self.argv:
            raise ConfigError("command: must name a program")
        try:
            circuit = circuit_from_crate_version(prover.sp1_version)
        except ValueError as e:
            raise ConfigError(f"sp1_version: {e}") from None
        self.capabilities = Capabilities("command", (circuit,), tuple(prover.modes), prover.slots)
        self._running: dict[tuple[str, int], ProverProcess] = {}

    def start(self) -> defer.Deferred:
        if shutil.which(self.argv[0]) is None:
            return defer.fail(ConfigError(f"command: {self.argv[0]!r} is not an executable "
                                          "(not found on PATH or not executable)"))
        return defer.succeed(None)

    def stop(self) -> defer.Deferred:
        for proc in list(self._running.values()):
            proc.kill_group(signal.SIGKILL)
        return defer.succeed(None)

    def command_line(self, job: Job, workdir: Path) -> tuple[list[str], dict[str, str]]:
        """argv (behind the setsid shim) and the child's environment."""
        env = job_environment(job, workdir)
        return self.argv + job_arguments(env), {**os.environ, **env}

    def prove(self, job: Job, workdir: Path, progress: ProgressFn) -> defer.Deferred:
        key = (job.request_id, job.attempt)
        label = f"{job.request_id[:18]}…#{job.attempt}"
        _write_vk(job, workdir / VK_FILE)
        argv, env = self.command_line(job, workdir)
        proc = ProverProcess(label, progress)
        self.reactor.spawnProcess(proc, sys.executable, [sys.executable, "-c", _SETSID, *argv],
                                  env=env)   # in the contemplant's directory, like its config paths
        self._running[key] = proc
        log.info("job %s: started %s (pid %s)", label, shlex.join(argv[:1]), proc.transport.pid)
        d = defer.Deferred(canceller=lambda _d: self._kill(proc))
        proc.ended.addCallback(lambda ended: self._ended(key, proc, d, workdir, *ended))
        return d

    def cancel(self, job: Job) -> None:
        proc = self._running.get((job.request_id, job.attempt))
        if proc is not None:
            self._kill(proc)

    def _kill(self, proc: ProverProcess) -> None:
        """SIGTERM to the process group, SIGKILL after a grace period."""
        proc.kill_group(signal.SIGTERM)
        later = self.reactor.callLater(KILL_GRACE_SECS, proc.kill_group, signal.SIGKILL)
        proc.ended.addBoth(lambda r: later.active() and later.cancel() or r)

    def _ended(self, key, proc: ProverProcess, d: defer.Deferred, workdir: Path,
               code: Optional[int], sig: Optional[int]) -> None:
        self._running.pop(key, None)
        proc.kill_group(signal.SIGKILL)      # whatever it left behind in its group
        if d.called:
            return                           # cancelled: the Deferred already errbacked
        failure = exit_failure(code, sig, proc.stderr_tail, workdir / PROOF_FILE)
        if failure is None:
            d.callback(workdir / PROOF_FILE)
        else:
            d.errback(failure)


def _write_vk(job: Job, path: Path) -> None:
    """The registered vk bytes for PROVER_VK (small; written on the reactor)."""
    try:
        vk = base64.b64decode(job.vk, validate=True) if job.vk else b""
    except (binascii.Error, ValueError):
        vk = b""
    path.write_bytes(vk)
