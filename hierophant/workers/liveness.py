"""Worker liveness: heartbeat silence, reconnect grace, and the scheduler's periodic tick.

Timers only; what to do when one fires is the scheduler's (the `Events` it implements).
DESIGN.md "Failure rules": a worker whose socket drops keeps its jobs for
`reconnect_grace_secs` (one timer per dropped worker that holds jobs); one that goes silent
without closing, for `heartbeat_timeout_secs` (checked by the tick). The reactor (or a
`task.Clock` in tests) is passed in.
"""
from __future__ import annotations

from typing import Protocol

from twisted.internet import task

from hierophant.config import SchedulerConfig
from hierophant.workers.registry import Registry, Worker


class Events(Protocol):
    def worker_silent(self, w: Worker) -> None: ...

    def reconnect_grace_over(self, w: Worker) -> None: ...

    def tick(self, now: float) -> None: ...


class Liveness:
    def __init__(self, clock, cfg: SchedulerConfig, registry: Registry, events: Events) -> None:
        self.clock, self.cfg, self.registry, self.events = clock, cfg, registry, events
        self._grace: dict[str, object] = {}         # worker_id -> IDelayedCall
        self._scanned = float("-inf")               # when silence was last looked for
        self._ticker = task.LoopingCall(self._tick)
        self._ticker.clock = clock

    @property
    def tick_secs(self) -> float:
        return max(0.05, min(1.0, self.cfg.heartbeat_timeout_secs / 5))

    def start(self) -> None:
        self._ticker.start(self.tick_secs, now=False)

    def stop(self) -> None:
        if self._ticker.running:
            self._ticker.stop()
        for call in self._grace.values():
            if call.active():
                call.cancel()
        self._grace.clear()

    def seen(self, w: Worker) -> None:
        w.last_seen = self.clock.seconds()

    def dropped(self, w: Worker) -> None:
        """`w`'s socket closed: its jobs wait reconnect_grace_secs for it to re-attach."""
        self.back(w)
        self._grace[w.worker_id] = self.clock.callLater(self.cfg.reconnect_grace_secs, self._grace_over, w)

    def back(self, w: Worker) -> None:
        """`w` re-registered (or left for good): no grace timer any more."""
        call = self._grace.pop(w.worker_id, None)
        if call is not None and call.active():
            call.cancel()

    def _grace_over(self, w: Worker) -> None:
        self._grace.pop(w.worker_id, None)
        self.events.reconnect_grace_over(w)

    def _tick(self) -> None:
        now = self.clock.seconds()
        timeout = self.cfg.heartbeat_timeout_secs
        # Silence is looked for every tenth of the timeout, not every tick: with thousands of
        # workers the scan is the tick's main cost.
        if now - self._scanned >= timeout / 10:
            self._scanned = now
            for w in [w for w in self.registry.workers.values() if now - w.last_seen > timeout]:
                self.events.worker_silent(w)
        self.events.tick(now)
