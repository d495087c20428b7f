"""The sp1-gpu-server binary: version handshake, one spawned process per GPU, stray reaping.

prover-backends.md §1.1: `<binary> --version` prints the bare crate version; the server wants
`CUDA_VISIBLE_DEVICES=<one id>`; it logs through `RUST_LOG` (§1.9). Pids are recorded next to
the socket (`<socket_dir>/sp1-cuda-<id>.pid`, with the process start time against pid reuse)
so a contemplant that died hard has its servers killed at the next start.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Callable, Optional

from twisted.internet import defer, protocol
from twisted.python.failure import Failure

from network_lib import lifeline
from network_lib.config import ConfigError

log = logging.getLogger("contemplant.sp1_gpu")

# §1.9: info everywhere, debug for the progress-capable targets.
DEFAULT_RUST_LOG = "info,sp1_prover::worker=debug,sp1_core_executor=debug"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
VERSION_TIMEOUT_SECS = 30


def socket_path(socket_dir: str, gpu: int) -> str:
    """§1.2: /tmp/sp1-cuda-{id}.sock; `socket_dir` replaces /tmp (honoured by test doubles)."""
    return os.path.join(socket_dir, f"sp1-cuda-{gpu}.sock")


def check_version(binary: str, sp1_version: str) -> str:
    """Run `<binary> --version` (§1.1); ConfigError unless it prints `sp1_version`."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=VERSION_TIMEOUT_SECS)
    except FileNotFoundError:
        raise ConfigError(f"sp1-gpu: binary {binary} does not exist (install sp1-gpu-server "
                          f"{sp1_version} there, or set provers.binary)") from None
    except (PermissionError, OSError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"sp1-gpu: cannot run {binary} --version: {e}") from None
    found = out.stdout.strip()
    if out.returncode != 0:
        raise ConfigError(f"sp1-gpu: {binary} --version exited with {out.returncode}: "
                          f"{(out.stderr or out.stdout).strip()[:200]}")
    if found != sp1_version.strip().lstrip("v"):
        raise ConfigError(f"sp1-gpu: {binary} is version {found!r} but sp1_version is "
                          f"{sp1_version!r}; install the matching sp1-gpu-server")
    return found


# -- pid records ----------------------------------------------------------------------------
def pid_file(socket_dir: str, gpu: int) -> Path:
    return Path(socket_dir) / f"sp1-cuda-{gpu}.pid"


def _start_time(pid: int) -> Optional[str]:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks); None if not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def record_pid(path: Path, pid: int) -> None:
    path.write_text(f"{pid} {_start_time(pid) or '?'}\n")


def reap_stray(path: Path) -> Optional[int]:
    """Kill the server recorded in `path` if that very process is still alive; its pid."""
    try:
        pid_text, started = path.read_text().split()[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    path.unlink(missing_ok=True)
    if pid <= 1 or started == "?" or _start_time(pid) != started:
        return None
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return None
    log.warning("killed a stray sp1-gpu-server (pid %d) left by a previous run", pid)
    return pid


# -- the spawned process --------------------------------------------------------------------
class _Lines(protocol.ProcessProtocol):
    def __init__(self, owner: "ServerProcess") -> None:
        self.owner = owner
        self.partial = {1: b"", 2: b""}

    def childDataReceived(self, fd: int, data: bytes) -> None:
        lines = (self.partial.get(fd, b"") + data).split(b"\n")
        self.partial[fd] = lines.pop()
        for line in lines:
            self.owner.line(fd, line)

    def processEnded(self, reason: Failure) -> None:
        for fd, rest in self.partial.items():
            if rest:
                self.owner.line(fd, rest)
        self.owner.ended(reason)


class ServerProcess:
    """One `sp1-gpu-server` for one GPU; `on_line(text)` gets each ANSI-stripped log line,
    `on_exit(message)` is called when it exits."""

    def __init__(self, reactor, binary: str, gpu: int, socket_dir: str,
                 on_line: Callable[[str], None], on_exit: Callable[[str], None]) -> None:
        self.reactor, self.binary, self.gpu, self.socket_dir = reactor, binary, gpu, socket_dir
        self.on_line, self.on_exit = on_line, on_exit
        self.transport = None
        self.exited: Optional[defer.Deferred] = None
        self.exit_message = ""
        self.pid: Optional[int] = None

    @property
    def running(self) -> bool:
        return self.transport is not None

    def spawn(self) -> None:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(self.gpu),
               "SP1_GPU_SOCKET_DIR": self.socket_dir,
               "RUST_LOG": os.environ.get("RUST_LOG", DEFAULT_RUST_LOG)}
        self.exited = defer.Deferred()
        # The server gets SIGKILL when the contemplant dies, even by SIGKILL (like the SDK's
        # kill_on_drop, §1.1): PR_SET_PDEATHSIG survives the exec into the binary.
        argv = lifeline.launcher_argv([self.binary])
        self.transport = self.reactor.spawnProcess(_Lines(self), argv[0], argv, env=env)
        self.pid = self.transport.pid
        record_pid(pid_file(self.socket_dir, self.gpu), self.pid)
        log.info("started sp1-gpu-server for GPU %d (pid %d)", self.gpu, self.pid)

    def line(self, fd: int, raw: bytes) -> None:
        text = ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
        if text:
            log.info("sp1-gpu-server[gpu %d] %s", self.gpu, text)
            self.on_line(text)

    def ended(self, reason: Failure) -> None:
        self.transport = None
        pid_file(self.socket_dir, self.gpu).unlink(missing_ok=True)
        self.exit_message = f"sp1-gpu-server for GPU {self.gpu} (pid {self.pid}) exited: {reason.getErrorMessage()}"
        exited, self.exited = self.exited, None
        self.on_exit(self.exit_message)
        if exited is not None:
            exited.callback(None)

    def kill(self, sig: str = "KILL") -> defer.Deferred:
        """Signal the server; fires once it has exited."""
        if self.transport is None:
            return defer.succeed(None)
        exited = self.exited
        try:
            self.transport.signalProcess(sig)
        except Exception:  # noqa: BLE001 - already gone: processEnded is on its way
            pass
        return when_done(exited)

    def stop(self, grace: float = 5.0) -> defer.Deferred:
        """SIGINT (the server unlinks its socket, §1.2), SIGKILL after `grace` seconds."""
        if self.transport is None:
            return defer.succeed(None)
        done = self.kill("INT")
        timer = self.reactor.callLater(grace, self.kill, "KILL")
        done.addBoth(lambda r: timer.cancel() if timer.active() else None)
        return done


def when_done(d: Optional[defer.Deferred]) -> defer.Deferred:
    """A Deferred firing when `d` does, without touching `d`'s own result."""
    if d is None:
        return defer.succeed(None)
    mine: defer.Deferred = defer.Deferred()
    d.addBoth(lambda r: (mine.callback(None), r)[1])
    return mine
