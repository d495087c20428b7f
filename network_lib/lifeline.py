"""Children die with their daemon, however it dies (issue 8: no orphans after `kill -9`).

Linux's `prctl(PR_SET_PDEATHSIG)` makes the kernel signal a child when the thread that
started it exits; a check of the parent pid right after closes the race of a parent that
died before the call. Used by the execution pool's workers (`die_with_parent`, run in the
child's initializer) and by spawned prover processes (`launcher_argv`, a tiny Python shim
that arms the signal and then execs the real program). Every caller spawns from the
reactor (main) thread, which lives as long as the process. Elsewhere than Linux this is a
no-op apart from the parent check.
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

# argv: parent pid, "1" for a new session (its pid becomes its process group), program...
_LAUNCHER = ("import ctypes, os, signal, sys\n"
             "if sys.platform.startswith('linux'): ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)\n"
             "if os.getppid() != int(sys.argv[1]): os._exit(1)\n"
             "if sys.argv[2] == '1': os.setsid()\n"
             "os.execvp(sys.argv[3], sys.argv[3:])\n")


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
    """argv for spawning `argv` so that it dies (SIGKILL) with this process."""
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), "1" if new_session else "0", *argv]
