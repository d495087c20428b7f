"""Children die with their daemon, however it dies (issue 8: no orphans after `kill -9`).

Linux's `prctl(PR_SET_PDEATHSIG)` makes the kernel signal a child when the thread that
started it exits; a check of the parent pid right after closes the race of a parent that
died before the call. Used by the execution pool's workers (`die_with_parent`, run in the
child's initializer) and by spawned prover processes (`launcher_argv`, a tiny Python shim
that arms the signal and then execs the real program). A program started in a new session
may start children of its own: there the shim stays, as the session's leader and the
program's parent, and kills the whole session when the daemon dies. Every caller spawns
from the reactor (main) thread, which lives as long as the process. Elsewhere than Linux
this is a no-op apart from the parent check.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PARENT_POLL_SECS = 1.0

# argv: parent pid, program... The program becomes this process and gets SIGKILL with the daemon.
_LAUNCHER = """\
import ctypes, os, signal, sys
if sys.platform.startswith('linux'): ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
if os.getppid() != int(sys.argv[1]): os._exit(1)
os.execvp(sys.argv[2], sys.argv[2:])
"""

# argv: parent pid, program... A new session led by this shim (its pid is the process group
# the daemon signals); the program runs as its child. When the daemon dies the kernel sends
# SIGUSR1 here and the whole session is killed; the group's SIGTERM/SIGINT are the program's
# to handle. Exits with the program's status (or dies of its signal).
_SUPERVISOR = """\
import ctypes, os, signal, sys
os.setsid()
def die(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGUSR1, die)
if sys.platform.startswith('linux'): ctypes.CDLL(None).prctl(1, signal.SIGUSR1, 0, 0, 0)
if os.getppid() != int(sys.argv[1]): die()
for s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1): signal.signal(s, signal.SIG_DFL)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as e:
        sys.stderr.write(f"cannot run {sys.argv[2]}: {e}\\n")
        os._exit(127)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
os._exit(code)
"""


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In a child: have the kernel send `sig` when the parent dies; leave now if it has."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def watch_parent(parent_pid: int, interval: float = PARENT_POLL_SECS) -> threading.Thread:
    """In a child: a daemon thread that leaves the process once `parent_pid` is no longer its
    parent (the belt to PDEATHSIG's braces, and the only guard where prctl is missing)."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)
    t = threading.Thread(target=watch, name="parent-watch", daemon=True)
    t.start()
    return t


def launcher_argv(argv: list[str], new_session: bool = False) -> list[str]:
    """argv for spawning `argv` so that it dies (SIGKILL) with this process; with
    `new_session`, in a session of its own that dies whole with this process."""
    return [sys.executable, "-c", _SUPERVISOR if new_session else _LAUNCHER, str(os.getpid()), *argv]
