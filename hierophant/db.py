"""SQLite (WAL) persistence of the coordinator's records, on one dedicated thread.

It implements the store interface of `hierophant.store` (load / start / stop / write).

The reactor owns the live records; this store only persists them. Writes go to one writer
thread (hierophant/groupcommit.py; SQLite connections are not shared across threads) and
return a Deferred, so the reactor never waits on disk. Each `write` is atomic and committed with synchronous=FULL:
once its Deferred fires, the records survive `kill -9` and power loss. Writes queued
together share one commit (group commit), which keeps a busy scheduler off the fsync wall.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twisted.internet import defer

from hierophant.groupcommit import GroupCommitWriter, WriterStore
from hierophant.rows import (
    TABLES,
    columns,
    primary_key,
    read_snapshot,
    table_of,
    to_row,
    u64_to_sql,
)
from hierophant.store import Snapshot

__all__ = ["Database", "Snapshot"]

SCHEMA_VERSION = 1


def _create_sql() -> list[str]:
    stmts = []
    for name, (cls, pk, _) in TABLES.items():
        cols = ", ".join(f"{c} PRIMARY KEY" if c == pk else c for c in columns(cls))
        stmts.append(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    stmts.append("CREATE TABLE IF NOT EXISTS nonces (address PRIMARY KEY, last)")
    return stmts


class Database(WriterStore):
    """Thread-confined SQLite store. Open before the reactor runs; then use `write`."""

    def __init__(self, path: Path, reactor=None) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._writer = GroupCommitWriter(self._transaction, "sqlite", reactor)

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
        return read_snapshot(lambda sql: self._conn.execute(sql).fetchall())

    def stop(self) -> None:
        """Finish queued writes, then close."""
        self._writer.stop()
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
        return self._writer.submit(ops)

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
