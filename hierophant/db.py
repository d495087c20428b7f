"""SQLite (WAL) persistence of the coordinator's records, on one dedicated thread.

The reactor owns the live records; this store only persists them. Every call runs on a
single-thread pool (SQLite connections are not shared across threads) and returns a
Deferred, so the reactor never waits on disk. `write` commits a batch atomically with
synchronous=FULL: once it fires, the records survive `kill -9` and power loss.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable

from twisted.internet import defer, threads
from twisted.python.threadpool import ThreadPool

from hierophant.model import Artifact, ArtifactKind, Execution, Fulfillment, Program, ProofRequest

SCHEMA_VERSION = 1
U64 = 1 << 64


def u64_to_sql(v: int) -> int:
    """SQLite integers are signed 64-bit; store u64 (e.g. u64::MAX cycle limits, §5.11) wrapped."""
    return v - U64 if v >= 1 << 63 else v


def u64_from_sql(v: int) -> int:
    return v + U64 if v < 0 else v


def _json_hex_list(v: list[bytes]) -> str:
    return json.dumps([x.hex() for x in v])


def _hex_list(v: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in json.loads(v)]


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


@dataclasses.dataclass
class Snapshot:
    """Everything the store holds, read once at start-up."""
    programs: list[Program]
    artifacts: list[Artifact]
    requests: list[ProofRequest]
    nonces: dict[bytes, int]


class Database:
    """Thread-confined SQLite store. Open before the reactor runs; then use `write`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="sqlite")

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: database schema {version} is newer than this "
                               f"hierophant understands ({SCHEMA_VERSION}); upgrade the software")
        for stmt in _create_sql():
            self._conn.execute(stmt)
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
        )

    def start(self) -> None:
        self._pool.start()

    def stop(self) -> None:
        self._pool.stop()
        self._conn.close()

    def write(self, put: Iterable[Any] = (), delete: Iterable[Any] = (),
              nonces: dict[bytes, int] | None = None) -> defer.Deferred:
        """Upsert records in `put`, delete those in `delete`, set nonces; one transaction."""
        put, delete = list(put), list(delete)
        return threads.deferToThreadPool(_reactor(), self._pool, self._write, put, delete, nonces or {})

    def _write(self, put: list, delete: list, nonces: dict[bytes, int]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for record in put:
                table = _RECORD_TABLE[type(record)]
                cols = _columns(type(record))
                marks = ", ".join("?" for _ in cols)
                conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                             _to_row(record))
            for record in delete:
                table = _RECORD_TABLE[type(record)]
                pk = _TABLES[table][1]
                conn.execute(f"DELETE FROM {table} WHERE {pk} = ?", (getattr(record, pk),))
            for address, last in nonces.items():
                conn.execute("INSERT OR REPLACE INTO nonces (address, last) VALUES (?, ?)",
                             (address, u64_to_sql(last)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _reactor():
    from twisted.internet import reactor
    return reactor
