"""SQLite (WAL) persistence of the coordinator's records, on one dedicated thread.

The reactor owns the live records; this store only persists them. Writes go to one writer
thread (SQLite connections are not shared across threads) and return a Deferred, so the
reactor never waits on disk. Each `write` is atomic and committed with synchronous=FULL:
once its Deferred fires, the records survive `kill -9` and power loss. Writes queued
together share one commit (group commit), which keeps a busy scheduler off the fsync wall.
"""
from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from twisted.internet import defer
from twisted.python.failure import Failure

from hierophant.rows import TABLES, Snapshot, columns, primary_key, snapshot, table_of, to_row, u64_from_sql, u64_to_sql

__all__ = ["Database", "Snapshot"]

SCHEMA_VERSION = 1


def _create_sql() -> list[str]:
    stmts = []
    for name, (cls, pk, _) in TABLES.items():
        cols = ", ".join(f"{c} PRIMARY KEY" if c == pk else c for c in columns(cls))
        stmts.append(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    stmts.append("CREATE TABLE IF NOT EXISTS nonces (address PRIMARY KEY, last)")
    return stmts


class Database:
    """Thread-confined SQLite store. Open before the reactor runs; then use `write`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: database schema {version} is newer than this "
                               f"hierophant understands ({SCHEMA_VERSION}); upgrade the software")
        for stmt in _create_sql():
            self._conn.execute(stmt)
        # Records gain fields over time: add their columns to an older database.
        for table, (cls, _, _) in TABLES.items():
            have = {r["name"] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            for col in columns(cls):
                if col not in have:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {col}")
        self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def load(self) -> Snapshot:
        """Read every record (blocking: call before the reactor starts)."""
        rows = {t: self._conn.execute(f"SELECT * FROM {t}").fetchall() for t in TABLES}
        nonces = {bytes(r["address"]): u64_from_sql(r["last"])
                  for r in self._conn.execute("SELECT * FROM nonces")}
        return snapshot(rows, nonces)

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
              nonces: dict[bytes, int] | None = None,
              statements: Iterable[tuple[str, tuple]] = ()) -> defer.Deferred:
        """Upsert records in `put`, delete those in `delete`, set nonces; one transaction.

        Rows are taken now, on the caller's (reactor) thread, so later changes to the live
        records cannot tear them. Concurrent writes are committed together (one fsync).
        """
        ops = [_upsert(r) for r in put] + [_delete(r) for r in delete]
        ops += [("INSERT OR REPLACE INTO nonces (address, last) VALUES (?, ?)", (a, u64_to_sql(n)))
                for a, n in (nonces or {}).items()]
        ops += list(statements)
        d: defer.Deferred = defer.Deferred()
        self._queue.put((ops, d))
        return d

    def _loop(self) -> None:
        from twisted.internet import reactor
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
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in ops:
                conn.execute(sql, args)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _upsert(record: Any) -> tuple[str, tuple]:
    table = table_of(record)
    cols = columns(type(record))
    marks = ", ".join("?" for _ in cols)
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({marks})", to_row(record)


def _delete(record: Any) -> tuple[str, tuple]:
    table = table_of(record)
    pk = primary_key(table)
    return f"DELETE FROM {table} WHERE {pk} = ?", (getattr(record, pk),)
