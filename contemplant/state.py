"""The contemplant's state_dir: a lock (one process per directory), the persistent worker_id
(docs/worker-protocol.md "Identity") and generated name, and the work directories of jobs."""
from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from contemplant.names import random_name
from network_lib.config import ConfigError
from network_lib.dirlock import lock_dir, write_pid

log = logging.getLogger("contemplant.state")


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.lock = lock_dir(path, "state_dir", "contemplant")
        self.worker_id = _worker_id(path / "worker_id")
        self.jobs_dir = path / "jobs"
        _clear(self.jobs_dir)

    def name(self, configured: str | None) -> str:
        """`configured`, or the name drawn for this state_dir once and kept in `name`."""
        if configured:
            return configured
        path = self.path / "name"
        saved = path.read_text().strip() if path.exists() else ""
        if saved:
            return saved
        drawn = random_name()
        _write_atomically(path, drawn)
        log.info("no name configured: this worker is %s (saved in %s)", drawn, path)
        return drawn

    def write_pid(self) -> None:
        """Record the running pid in the lock file (after twistd may have daemonised)."""
        write_pid(self.lock)

    def release(self) -> None:
        if not self.lock.closed:
            self.lock.close()


def _worker_id(path: Path) -> str:
    if path.exists():
        text = path.read_text().strip()
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise ConfigError(f"{path} does not hold a UUID ({text[:40]!r}); delete it to get a new "
                              "worker_id") from None
    worker_id = str(uuid.uuid4())
    _write_atomically(path, worker_id)
    log.info("new worker_id %s saved in %s", worker_id, path)
    return worker_id


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _clear(jobs_dir: Path) -> None:
    """Work files of a previous run cannot be resumed: its backends died with it."""
    if jobs_dir.exists():
        leftovers = list(jobs_dir.iterdir())
        if leftovers:
            log.info("removing %d work directories left by a previous run", len(leftovers))
        shutil.rmtree(jobs_dir, ignore_errors=True)
    jobs_dir.mkdir(parents=True, exist_ok=True)
