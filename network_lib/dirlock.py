"""One process per state folder: an exclusive flock on `<folder>/lock` holding its pid."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from network_lib.config import ConfigError


def lock_dir(path: Path, key: str, program: str) -> IO[str]:
    """Lock `path` for this process (keep the returned file open); ConfigError naming the
    config `key` and the holder's pid when another `program` has it."""
    f = open(path / "lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        owner = f.read().strip() or "?"
        f.close()
        raise ConfigError(f"{key} {path} is in use by another {program} (pid {owner})") from None
    write_pid(f)
    return f


def write_pid(f: IO[str]) -> None:
    """Record this process's pid (again after twistd daemonised)."""
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
