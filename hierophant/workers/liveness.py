"""Worker liveness: heartbeat silence, reconnect grace, and the scheduler's periodic tick.

Timers only; what to do when one fires is the scheduler's (the `Events` it implements).
DESIGN.md "Failure rules": a worker whose socket drops keeps its jobs for
`reconnect_grace_secs` (one timer per dropped worker that holds jobs); one that goes silent
without closing, for `heartbeat_timeout_secs` (checked by the tick). The reactor (or a
`task.Clock` in tests) is passed in.

Silence is found without looking at every worker: `seen` keeps the workers in the order
they were last heard from (a dict, re-inserted on each message), so the tick reads only the
front of it, the silent ones, and stops at the first that is not. With 5,000 workers
heartbeating this replaced a scan of all of them (bench/scheduler_bench.py).
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
        self._heard: dict[str, Worker] = {}         # worker_id -> worker, least recently heard first
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
        """A message (or the registration) from `w`: it is alive now."""
        w.last_seen = self.clock.seconds()
        heard = self._heard
        heard.pop(w.worker_id, None)
        heard[w.worker_id] = w

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
        for w in self._silent(now - self.cfg.heartbeat_timeout_secs):
            self.events.worker_silent(w)
        self.events.tick(now)

    def _silent(self, before: float) -> list[Worker]:
        """Registered workers last heard from before `before`: the front of `_heard`."""
        out, gone = [], []
        for wid, w in self._heard.items():
            if self.registry.workers.get(wid) is not w:
                gone.append(wid)                # left the registry: dropped here, when reached
            elif w.last_seen < before:
                out.append(w)
            else:
                break
        for wid in gone:
            del self._heard[wid]
        return out
