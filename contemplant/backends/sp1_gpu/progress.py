"""Progress from sp1-gpu-server log lines (prover-backends.md §1.9; best effort, not an API).

Phases: `setup` (Running setup), `execute` (shard boundaries: `global_clk` / total cycles
when the hierophant sent `total_cycles`), `prove` (core proofs done / shards seen), then
`compress` once all core proofs are in. Lines arrive ANSI-stripped.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from contemplant.backends.base import ProgressFn

_GLOBAL_CLK = re.compile(r"\bglobal_clk[=:]\s*(\d+)")
_NEW_SHARD = re.compile(r"starting new shard at clk:\s*(\d+)")
_CORE_DONE = re.compile(r"Number of core proofs completed:\s*(\d+)")
_ALL_CORE = re.compile(r"All core proofs received: number of core proofs:\s*(\d+)")
_PROVING = re.compile(r"Proving with mode:\s*(\w+)")


class ProgressParser:
    """Feed it the server's lines while one job runs; it calls `progress` on changes."""

    def __init__(self, progress: ProgressFn, total_cycles: Callable[[], Optional[int]]) -> None:
        self.progress = progress
        self.total_cycles = total_cycles
        self.shards = 0
        self.cycles = 0

    def feed(self, line: str) -> None:
        for handler in (self._setup, self._proving, self._shard, self._executed,
                        self._core, self._all_core, self._compress):
            if handler(line):
                return

    def _setup(self, line: str) -> bool:
        if "Running setup" in line:
            self.progress("setup")
            return True
        return False

    def _proving(self, line: str) -> bool:
        if _PROVING.search(line):
            self.progress("execute", 0.0)
            return True
        return False

    def _shard(self, line: str) -> bool:
        m = _GLOBAL_CLK.search(line)
        new = _NEW_SHARD.search(line)
        if new:
            self.shards += 1
        if not (m or new):
            return False
        if m:
            self.cycles = max(self.cycles, int(m.group(1)))
        self.progress("execute", self._execute_percent(), self.cycles)
        return True

    def _execute_percent(self) -> Optional[float]:
        total = self.total_cycles()
        return min(99.0, 100.0 * self.cycles / total) if total else None

    def _executed(self, line: str) -> bool:
        if "minimal Executor finished" in line:
            self.progress("execute", 100.0, self.cycles or None)
            return True
        return False

    def _core(self, line: str) -> bool:
        m = _CORE_DONE.search(line)
        if m:
            done = int(m.group(1))
            pct = min(99.0, 100.0 * done / self.shards) if self.shards else None
            self.progress("prove", pct)
        return bool(m)

    def _all_core(self, line: str) -> bool:
        if _ALL_CORE.search(line):
            self.progress("compress")
            return True
        return False

    def _compress(self, line: str) -> bool:
        if "compress" in line.lower() and "DEBUG" in line:
            self.progress("compress")
            return True
        return False
