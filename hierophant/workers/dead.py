"""Owner of the dead workers (dropped after max_strikes), on the reactor.

A dropped worker is refused at once (its socket closes with 4004); the record becomes
visible (/dead-contemplants, refusal at re-registration after a restart) once committed.
"""
from __future__ import annotations

from typing import Iterable

from twisted.internet import defer

from hierophant.model import DeadWorker
from hierophant.store import Store


class DeadWorkers:
    def __init__(self, store: Store, dead: Iterable[DeadWorker] = ()) -> None:
        self.store = store
        self._by_id = {d.worker_id: d for d in dead}
        self._pending: dict[str, DeadWorker] = {}

    def get(self, worker_id: str) -> DeadWorker | None:
        """The committed record (what /dead-contemplants shows)."""
        return self._by_id.get(worker_id)

    def refused(self, worker_id: str) -> DeadWorker | None:
        """A worker to refuse: dropped, whether or not its record has committed yet."""
        return self._pending.get(worker_id) or self._by_id.get(worker_id)

    def all(self) -> list[DeadWorker]:
        return sorted(self._by_id.values(), key=lambda d: d.died_at)

    def add(self, dead: DeadWorker) -> defer.Deferred:
        self._pending[dead.worker_id] = dead
        d = self.store.write(put=[dead])
        d.addCallback(self._committed, dead)
        return d

    def _committed(self, _, dead: DeadWorker) -> None:
        self._pending.pop(dead.worker_id, None)
        self._by_id[dead.worker_id] = dead
