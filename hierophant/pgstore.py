"""PostgreSQL persistence of the coordinator's records: the store interface of hierophant/store.py.

`[store] url = "postgresql://user:password@host:port/db"` selects it. Like the SQLite store,
it only persists what the reactor's owners decide: `write` hands one atomic transaction to
a single writer thread (hierophant/groupcommit.py) and returns a Deferred that fires on the reactor after COMMIT
(PostgreSQL's default synchronous_commit: on disk, or on a synchronous standby). Writes
queued together share one transaction, sent in pipeline mode (group commit: one round trip
and one WAL flush for many writes), and commit in the order they were made.

A PostgreSQL that is down or restarting: the writer finds its connection broken, tries once
to reconnect (bounded by CONNECT_TIMEOUT) and fails the batch with `StoreUnavailable`, which
the gRPC bridge answers as UNAVAILABLE (the SDK retries those) and uploads as 503. Nothing
was acknowledged, so nothing is lost; the next write reconnects by itself. A write whose
COMMIT was sent but whose answer was lost is reported failed although it may have
committed; every such write is an idempotent upsert the client retries.

With leadership (hierophant/leadership.py) the store is opened for one term with that term's
fencing `epoch`: every transaction begins with `SELECT hierophant_fence(epoch)`
(hierophant/pgschema.py, migration 3), so a leader whose lease was taken over commits
nothing; such a write fails with `Fenced` (a StoreUnavailable: clients retry and reach the
new leader) and `on_fenced` is called on the reactor.

`load` runs before the reactor starts (blocking); if PostgreSQL cannot be reached then,
opening the store raises `StoreUnavailable` and the hierophant exits non-zero with the
reason (let systemd or the orchestrator retry; a half-started coordinator serves nobody).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader
from twisted.internet import defer

from hierophant import pgschema
from hierophant.errors import Fenced, StoreUnavailable
from hierophant.groupcommit import GroupCommitWriter, WriterStore
from hierophant.rows import (
    RECORD_TABLE,
    columns,
    primary_key,
    read_snapshot,
    table_of,
    to_row,
    u64_to_sql,
)
from hierophant.store import Snapshot

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5          # seconds, per connection attempt
# Dead peers are noticed within ~20 s even mid-query (TCP keepalives and user timeout).
_CONNECT_OPTIONS = {"connect_timeout": CONNECT_TIMEOUT, "keepalives": 1, "keepalives_idle": 5,
                    "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 20_000,
                    "application_name": "hierophant"}


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://<unparsable url>"
    where = f"{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    return f"postgresql://{info.get('user', '')}@{where}"


class PgStore(WriterStore):
    """The store interface of hierophant/store.py, on PostgreSQL. Open before the reactor runs."""

    def __init__(self, url: str, reactor=None, epoch: int | None = None,
                 on_fenced: Callable[[], None] | None = None) -> None:
        self.url = url
        self.epoch = epoch
        self.on_fenced = on_fenced
        self.where = redact(url)
        self._reactor = reactor
        self._writer = GroupCommitWriter(self._transaction, "postgresql", reactor, unavailable=(StoreUnavailable,))
        self._conn: psycopg.Connection | None = None
        self._closed = False
        try:
            self._conn = self._connect()
            applied = pgschema.migrate(self._conn)
        except psycopg.OperationalError as e:
            raise StoreUnavailable(f"PostgreSQL at {self.where} is unreachable: {_reason(e)}") from None
        if applied:
            log.info("%s: applied schema migrations %s", self.where, applied)
        missing = pgschema.missing_columns(self._conn)
        if missing:
            raise pgschema.SchemaError(f"{self.where}: no column for record fields {missing}; "
                                       "a schema migration is missing (hierophant/pgschema.py)")

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, **_CONNECT_OPTIONS)
        conn.adapters.register_loader("jsonb", TextLoader)   # rows.py decodes the JSON text itself
        return conn

    def load(self) -> Snapshot:
        """Read every record (blocking: call before the reactor starts)."""
        with self._conn.transaction():     # one consistent view of every table
            return read_snapshot(lambda sql: self._conn.execute(sql).fetchall())

    def stop(self) -> None:
        """Finish queued writes, then close; later writes fail at once."""
        self._closed = True
        self._writer.stop()
        if self._conn is not None:
            self._conn.close()

    def write(self, put: Iterable[Any] = (), delete: Iterable[Any] = (),
              nonces: dict[bytes, int] | None = None) -> defer.Deferred:
        """Upsert `put`, delete `delete`, set `nonces`: one transaction (hierophant.store)."""
        ops = [_upsert(r) for r in put] + [_delete(r) for r in delete]
        ops += [(_NONCE_UPSERT, (a, u64_to_sql(n))) for a, n in (nonces or {}).items()]
        if self._closed:
            error = Fenced if self.epoch is not None else StoreUnavailable
            return defer.fail(error(f"the store at {self.where} is closed: this hierophant is "
                                    f"{'no longer leading' if self.epoch is not None else 'stopping'}; retry"))
        return self._writer.submit(ops)

    def _transaction(self, ops: list[tuple[str, tuple]]) -> None:
        conn = self._connection()
        if self.epoch is not None:
            ops = [(_FENCE, (self.epoch,)), *ops]
        try:
            with conn.transaction(), conn.pipeline():
                for sql, args in ops:
                    conn.execute(sql, args)
        except psycopg.Error as e:
            if e.sqlstate == FENCED_SQLSTATE:
                self._fenced()
            if isinstance(e, psycopg.OperationalError):
                self._lost(conn, e)
            raise

    def _fenced(self) -> None:
        log.warning("PostgreSQL at %s: write refused: leadership epoch %s was taken over", self.where, self.epoch)
        if self.on_fenced is not None:
            reactor = self._reactor
            if reactor is None:
                from twisted.internet import reactor
            reactor.callFromThread(self.on_fenced)
        raise Fenced(f"this hierophant no longer leads (epoch {self.epoch} was taken over); "
                     "retry: the new leader answers") from None

    def _lost(self, conn: psycopg.Connection, e: Exception) -> None:
        """Connection lost, server shutting down or restarting: start afresh next time."""
        self._conn = None
        conn.close()
        log.warning("PostgreSQL at %s: connection lost: %s", self.where, _reason(e))
        raise StoreUnavailable(f"PostgreSQL at {self.where} is unavailable: {_reason(e)}") from None

    def _connection(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        try:
            self._conn = self._connect()
        except psycopg.OperationalError as e:
            raise StoreUnavailable(f"PostgreSQL at {self.where} is unreachable: {_reason(e)}") from None
        log.info("PostgreSQL at %s: reconnected", self.where)
        return self._conn


FENCED_SQLSTATE = "HF001"   # raised by hierophant_fence (hierophant/pgschema.py)
_FENCE = "SELECT hierophant_fence(%s)"
_NONCE_UPSERT = ("INSERT INTO nonces (address, last) VALUES (%s, %s) "
                 "ON CONFLICT (address) DO UPDATE SET last = EXCLUDED.last")


def _upsert(record: Any) -> tuple[str, tuple]:
    return _upsert_sql(type(record)), to_row(record)


@functools.cache
def _upsert_sql(cls: type) -> str:
    table = RECORD_TABLE[cls]
    cols = columns(cls)
    pk = primary_key(table)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != pk)
    marks = ", ".join("%s" for _ in cols)
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
            f"ON CONFLICT ({pk}) DO UPDATE SET {updates}")


def _delete(record: Any) -> tuple[str, tuple]:
    table = table_of(record)
    pk = primary_key(table)
    return f"DELETE FROM {table} WHERE {pk} = %s", (getattr(record, pk),)


def _reason(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
