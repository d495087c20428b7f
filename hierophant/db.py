"""SQLite (WAL) persistence of the coordinator's records, on one dedicated thread.

It implements the store interface of `hierophant.store` (load / start / stop / write).

The reactor owns the live records; this store only persists them. Writes go to one writer
thread (SQLite connections are not shared across threads) and return a Deferred, so the
reactor never waits on disk. Each `write` is atomic and committed with synchronous=FULL:
once its Deferred fires, the records survive `kill -9` and power loss. Writes queued
together share one commit (group commit), which keeps a busy scheduler off the fsync wall.
"""
from __future__ import annotations

import dataclasses
import json
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from twisted.internet import defer
from twisted.python.failure import Failure

from hierophant.store import Snapshot
from hierophant.model import (Artifact, ArtifactKind, DeadWorker, Execution, Fulfillment, Program, ProofRecord,
                              ProofRequest)

SCHEMA_VERSION = 1
U64 = 1 << 64


def u64_to_sql(v: int) -> int:
    """SQLite integers are signed 64-bit; store u64 (e.g. u64::MAX cycle limits, §5.11) wrapped."""
    return v - U64 if v >= 1 << 63 else v


def u64_from_sql(v: int) -> int:
    return v + U64 if v < 0 else v


def _json_hex_list(v: list[bytes]) -> str:
    return json.dumps([x.hex() for x in v])


def _hex_list(v: str) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(x) for x in json.loads(v))


_U64 = (u64_to_sql, u64_from_sql)
_IDENT = (lambda v: v, lambda v: v)

# table -> (record class, primary key, {field: (to_sql, from_sql)})
_TABLES: dict[str, tuple[type, str, dict[str, tuple[Callable, Callable]]]] = {
    "programs": (Program, "vk_hash", {}),
    "artifacts": (Artifact, "id", {"kind": (int, ArtifactKind)}),
    "requests": (ProofRequest, "request_id", {
        "deadline": _U64, "cycle_limit": _U64, "gas_limit": _U64, "min_auction_period": _U64,
        "nonce": _U64, "cycles": _U64,
        "whitelist": (_json_hex_list, _hex_list),
        "extra": (json.dumps, json.loads),
        "fulfillment": (int, Fulfillment), "execution": (int, Execution),
    }),
    "proof_history": (ProofRecord, "id", {}),
    "dead_workers": (DeadWorker, "worker_id", {}),
}
_RECORD_TABLE = {cls: name for name, (cls, _, _) in _TABLES.items()}


def _columns(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _create_sql() -> list[str]:
    stmts = []
    for name, (cls, pk, _) in _TABLES.items():
        cols = ", ".join(f"{c} PRIMARY KEY" if c == pk else c for c in _columns(cls))
        stmts.append(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    stmts.append("CREATE TABLE IF NOT EXISTS nonces (address PRIMARY KEY, last)")
    return stmts


def _to_row(record: Any) -> tuple:
    cls, _, codecs = _TABLES[_RECORD_TABLE[type(record)]]
    row = []
    for col in _columns(cls):
        v = getattr(record, col)
        row.append(None if v is None else codecs.get(col, _IDENT)[0](v))
    return tuple(row)


def _from_row(table: str, row: sqlite3.Row) -> Any:
    cls, _, codecs = _TABLES[table]
    kwargs = {}
    for col in _columns(cls):
        v = row[col]
        kwargs[col] = None if v is None else codecs.get(col, _IDENT)[1](v)
    return cls(**kwargs)


class Database:
    """Thread-confined SQLite store. Open before the reactor runs; then use `write`."""

    def __init__(self, path: Path, reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.path = path
        self._reactor = reactor
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.on_commit: Callable[[float], None] = lambda secs: None   # commit latency (writer thread)

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: database schema {version} is newer than this "
                               f"hierophant understands ({SCHEMA_VERSION}); upgrade the software")
        for stmt in _create_sql():
            self._conn.execute(stmt)
        # Records gain fields over time: add their columns to an older database.
        for table, (cls, _, _) in _TABLES.items():
            have = {r["name"] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            for col in _columns(cls):
                if col not in have:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {col}")
        self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def load(self) -> Snapshot:
        """Read every record (blocking: call before the reactor starts)."""
        rows = {t: self._conn.execute(f"SELECT * FROM {t}").fetchall() for t in _TABLES}
        nonces = {bytes(r["address"]): u64_from_sql(r["last"])
                  for r in self._conn.execute("SELECT * FROM nonces")}
        return Snapshot(
            programs=[_from_row("programs", r) for r in rows["programs"]],
            artifacts=[_from_row("artifacts", r) for r in rows["artifacts"]],
            requests=[_from_row("requests", r) for r in rows["requests"]],
            nonces=nonces,
            history=[_from_row("proof_history", r) for r in rows["proof_history"]],
            dead_workers=[_from_row("dead_workers", r) for r in rows["dead_workers"]],
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sqlite", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish queued writes, then close."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._conn.close()

    def write(self, put: Iterable[Any] = (), delete: Iterable[Any] = (),
              nonces: dict[bytes, int] | None = None) -> defer.Deferred:
        """Upsert records in `put`, delete those in `delete`, set nonces; one transaction.

        Rows are taken now, on the caller's (reactor) thread. Concurrent writes are committed
        together (one fsync), in the order they were made.
        """
        ops = [_upsert(r) for r in put] + [_delete(r) for r in delete]
        ops += [("INSERT OR REPLACE INTO nonces (address, last) VALUES (?, ?)", (a, u64_to_sql(n)))
                for a, n in (nonces or {}).items()]
        d: defer.Deferred = defer.Deferred()
        self._queue.put((ops, d))
        return d

    def _loop(self) -> None:
        reactor = self._reactor
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < 512:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            for d, error in self._commit(batch):
                if error is None:
                    reactor.callFromThread(d.callback, None)
                else:
                    reactor.callFromThread(d.errback, error)

    def _commit(self, batch: list) -> list:
        try:
            self._transaction([op for ops, _ in batch for op in ops])
            return [(d, None) for _, d in batch]
        except Exception:
            if len(batch) == 1:
                return [(batch[0][1], Failure())]
        # One bad write must not sink the others: commit them one by one.
        results = []
        for ops, d in batch:
            try:
                self._transaction(ops)
                results.append((d, None))
            except Exception:
                results.append((d, Failure()))
        return results

    def _transaction(self, ops: list[tuple[str, tuple]]) -> None:
        conn = self._conn
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in ops:
                conn.execute(sql, args)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.on_commit(time.perf_counter() - start)


def _upsert(record: Any) -> tuple[str, tuple]:
    table = _RECORD_TABLE[type(record)]
    cols = _columns(type(record))
    marks = ", ".join("?" for _ in cols)
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({marks})", _to_row(record)


def _delete(record: Any) -> tuple[str, tuple]:
    table = _RECORD_TABLE[type(record)]
    pk = _TABLES[table][1]
    return f"DELETE FROM {table} WHERE {pk} = ?", (getattr(record, pk),)
