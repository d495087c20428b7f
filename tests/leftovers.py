"""Processes the test run started and left behind (issue 8: no orphans).

`tests/conftest.py` puts `HIEROPHANT_TEST_RUN=<random id>` into the environment at import, so
every process the run starts (daemons, their pools, provers, resource trackers) inherits
it; at the end of the session `leftovers()` scans /proc for processes carrying this run's
id. The variable is one of the README's exempt `HIEROPHANT_*` names (not a config key).
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

MARKER = "HIEROPHANT_TEST_RUN"


def mark_run() -> str:
    """Set (once) and return this run's id."""
    return os.environ.setdefault(MARKER, uuid.uuid4().hex)


def leftovers(run_id: str, variable: str = MARKER) -> list[tuple[int, str]]:
    """(pid, command line) of live processes, other than this one, whose environment has
    `variable=run_id` (by default: started by this run)."""
    needle = f"{variable}={run_id}".encode()
    mine = {os.getpid(), _own_tracker()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue        # gone meanwhile, or not ours to read
        if state != "Z":    # a zombie holds nothing; its parent reaps it
            found.append((int(entry.name), cmdline.strip()[:200]))
    return found


def _own_tracker() -> int | None:
    """The resource tracker of this (pytest) process, if unit tests started one: it lives
    until this process exits, then exits itself."""
    from multiprocessing import resource_tracker
    return getattr(resource_tracker._resource_tracker, "_pid", None)


def wait_gone(run_id: str, timeout: float, variable: str = MARKER) -> list[tuple[int, str]]:
    """Leftovers still alive after `timeout` seconds (polling /proc)."""
    deadline = time.monotonic() + timeout
    while True:
        left = leftovers(run_id, variable)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def kill(processes: list[tuple[int, str]]) -> None:
    for pid, _ in processes:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
