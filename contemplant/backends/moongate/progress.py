"""Progress from moongate's log lines (prover-backends.md §2.6; closed-source strings, so
best effort): `clk = N` lines are execution (cycles, percent of the job's total cycles when
known); `Shard: [` lines before the last clk count the shards, and after it each one is a
proving step, progress = shards proved / (2.2 × shards executed)."""
from __future__ import annotations

import re
from typing import Callable, Optional

from contemplant.backends.base import ProgressFn

CLK = re.compile(r"clk\s*=\s*(\d+)")
SHARD = "Shard: ["
PROVING_FACTOR = 2.2
MAX_PROVING_PERCENT = 99.0


class LogProgress:
    """Feed it one job's log lines; it calls `progress(phase, percent, cycles)`.

    `total_cycles()` is read on every line: the hierophant may send it mid-job."""

    def __init__(self, progress: ProgressFn, total_cycles: Callable[[], Optional[int]]) -> None:
        self.progress, self.total_cycles = progress, total_cycles
        self.clk = 0
        self.executed_shards = 0
        self.proved_shards = 0
        self.executed = False

    def feed(self, line: str) -> None:
        if "clk =" in line or "clk=" in line:
            m = CLK.search(line)
            if m:
                self._clk(int(m.group(1)))
        elif SHARD in line:
            self._shard()

    def _clk(self, clk: int) -> None:
        self.clk = max(self.clk, clk)
        total = self.total_cycles()
        percent = None
        if total:
            percent = min(100.0, 100.0 * self.clk / total)
            self.executed = self.clk >= total
        self.progress("execute", percent, self.clk)

    def _shard(self) -> None:
        if not self.executed:
            self.executed_shards += 1
            return
        self.proved_shards += 1
        percent = None
        if self.executed_shards:
            percent = min(MAX_PROVING_PERCENT,
                          100.0 * self.proved_shards / (PROVING_FACTOR * self.executed_shards))
        self.progress("prove", percent, self.clk or None)
