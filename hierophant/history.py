"""Owner of the proof history (one ProofRecord per finished attempt), on the reactor.

A record is visible (/proof-history) once committed. The newest HISTORY_IN_MEMORY records are
kept whole; older ones only by (finished_at, id), so retention can still delete them.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Iterable

from twisted.internet import defer

from hierophant.model import ProofRecord
from hierophant.store import Store

log = logging.getLogger(__name__)

HISTORY_IN_MEMORY = 10_000


def _key_only(record_id: str) -> ProofRecord:
    """A record standing for its primary key (the store deletes by key)."""
    return ProofRecord(id=record_id, request_id=b"", attempt=0, mode=0, circuit_version="", worker_id="",
                       worker_name="", started_at=0.0, finished_at=0.0, outcome="")


class History:
    def __init__(self, store: Store, records: Iterable[ProofRecord] = ()) -> None:
        self.store = store
        ordered = sorted(records, key=lambda h: h.finished_at)
        self.records: deque[ProofRecord] = deque(ordered[-HISTORY_IN_MEMORY:])
        self._older: deque[tuple[float, str]] = deque((h.finished_at, h.id) for h in ordered[:-HISTORY_IN_MEMORY])

    def recent(self, limit: int) -> list[ProofRecord]:
        """The newest `limit` records, newest first."""
        n = len(self.records)
        return [self.records[i] for i in range(n - 1, max(-1, n - 1 - limit), -1)]

    def record(self, rec: ProofRecord) -> defer.Deferred:
        d = self.store.write(put=[rec])
        d.addCallback(lambda _: self.adopt(rec))
        return d

    def adopt(self, rec: ProofRecord) -> None:
        """Show a record written by someone else's transaction; call only after its commit."""
        if len(self.records) >= HISTORY_IN_MEMORY:
            old = self.records.popleft()
            self._older.append((old.finished_at, old.id))
        self.records.append(rec)

    @defer.inlineCallbacks
    def prune(self, cut: float) -> defer.Deferred:
        """Delete records that finished before `cut`; returns how many."""
        doomed_old = [i for t, i in self._older if t < cut]
        doomed = [h for h in self.records if h.finished_at < cut]
        if not doomed_old and not doomed:
            return 0
        yield self.store.write(delete=[_key_only(i) for i in doomed_old] + doomed)
        gone = set(doomed_old) | {h.id for h in doomed}
        self._older = deque(x for x in self._older if x[1] not in gone)
        self.records = deque(h for h in self.records if h.id not in gone)
        return len(gone)
