"""The store interface the record owners write through, its snapshot, and an in-memory store.

A store persists records; it never decides anything. Every implementation (SQLite in
`hierophant.db`, PostgreSQL, `MemoryStore` for tests) offers:

    load() -> Snapshot            every record, read once before the reactor runs (blocking)
    start() / stop()              begin accepting writes / finish queued writes and close
    write(put=(), delete=(), nonces=None) -> Deferred
        upsert the records in `put` (record types of hierophant.model), delete the records in
        `delete` (by primary key), set `nonces` ({address: last accepted nonce}), all in ONE
        atomic transaction. The Deferred fires on the reactor thread after the commit, or
        fails having changed nothing. Writes commit in the order they were made (owners rely
        on it: a later value of a record never loses to an earlier one).

Owners (hierophant.model's docstring lists them) make a new value visible only after its
write fired, so whatever any reader sees survives `kill -9`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Protocol

from twisted.internet import defer

from hierophant.model import Artifact, DeadWorker, Program, ProofRecord, ProofRequest


@dataclasses.dataclass
class Snapshot:
    """Everything the store holds, read once at start-up."""
    programs: list[Program]
    artifacts: list[Artifact]
    requests: list[ProofRequest]
    nonces: dict[bytes, int]
    history: list[ProofRecord]
    dead_workers: list[DeadWorker]


class Store(Protocol):
    def load(self) -> Snapshot: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def write(self, put: Iterable[Any] = (), delete: Iterable[Any] = (),
              nonces: dict[bytes, int] | None = None) -> defer.Deferred: ...


_KEYS = {Program: "vk_hash", Artifact: "id", ProofRequest: "request_id", ProofRecord: "id",
         DeadWorker: "worker_id"}


class MemoryStore:
    """A store in a dict, for unit tests. `hold = True` keeps each write's Deferred back (and
    the write uncommitted) until `release()`, so a test can look at the world mid-write;
    `fail_next` makes the next write fail with that exception."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.rows: dict[tuple[type, Any], Any] = {}
        self.nonces: dict[bytes, int] = {}
        self.hold = False
        self.fail_next: Exception | None = None
        self.held: list[tuple[list, list, dict, defer.Deferred]] = []
        self.writes = 0
        if snapshot is not None:
            for kind in (snapshot.programs, snapshot.artifacts, snapshot.requests, snapshot.history,
                         snapshot.dead_workers):
                self._apply(kind, [], {})
            self.nonces.update(snapshot.nonces)

    def load(self) -> Snapshot:
        by = {cls: [v for (c, _), v in self.rows.items() if c is cls] for cls in _KEYS}
        return Snapshot(programs=by[Program], artifacts=by[Artifact], requests=by[ProofRequest],
                        nonces=dict(self.nonces), history=by[ProofRecord], dead_workers=by[DeadWorker])

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def write(self, put: Iterable[Any] = (), delete: Iterable[Any] = (),
              nonces: dict[bytes, int] | None = None) -> defer.Deferred:
        put, delete = list(put), list(delete)
        d: defer.Deferred = defer.Deferred()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            d.errback(error)
            return d
        if self.hold:
            self.held.append((put, delete, dict(nonces or {}), d))
            return d
        self._apply(put, delete, nonces or {})
        d.callback(None)
        return d

    def release(self, n: int | None = None) -> None:
        """Commit held writes (the first `n`, or all), in order, firing their Deferreds."""
        batch, self.held = (self.held, []) if n is None else (self.held[:n], self.held[n:])
        for put, delete, nonces, d in batch:
            self._apply(put, delete, nonces)
            d.callback(None)

    def _apply(self, put: list, delete: list, nonces: dict) -> None:
        self.writes += 1
        for r in put:
            self.rows[(type(r), getattr(r, _KEYS[type(r)]))] = r
        for r in delete:
            self.rows.pop((type(r), getattr(r, _KEYS[type(r)])), None)
        self.nonces.update(nonces)

    def get(self, cls: type, key: Any) -> Any:
        return self.rows.get((cls, key))
