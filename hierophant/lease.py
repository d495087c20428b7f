"""The leader lease in PostgreSQL (DESIGN.md "leadership"): who leads, until when, and the
fencing epoch every write of the leader carries.

One row, `leader_lease` (hierophant/pgschema.py, migration 3): `holder` (a hierophant's
random id for this process), `epoch` (incremented by every acquisition, never reused) and
`expires_at`. Time is the DATABASE's clock (`clock_timestamp()`), never a hierophant's, so
skewed machine clocks cannot make two leaders. A hierophant acquires the lease only once it
has expired; the leader extends it while its epoch is still the row's; the leader's store
checks the epoch in every write transaction (`hierophant_fence`), which holds the row FOR
SHARE, so a takeover waits for a write in flight and every write after it fails.

Every method blocks on one connection of its own: call them from one thread only (the
leadership service runs them on a single-thread pool). A lost connection raises
`StoreUnavailable`; the next call reconnects.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import socket

import psycopg
from psycopg.rows import tuple_row

from hierophant.errors import StoreUnavailable
from hierophant.pgstore import _reason, redact

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3     # seconds


@dataclasses.dataclass(frozen=True)
class LeaseTiming:
    """How long a lease lasts and how often it is renewed (leader) or tried (standby), all
    derived from `[ha] takeover_secs` T: the leader dies right after a renewal, its lease runs
    out 0.6 T later, and a standby notices within another T/8 and loads the state, so it
    leads within T. The leader renews every T/6: three chances before its lease runs out."""
    lease_secs: float
    renew_secs: float
    poll_secs: float

    @classmethod
    def for_takeover(cls, takeover_secs: float) -> "LeaseTiming":
        return cls(lease_secs=0.6 * takeover_secs, renew_secs=takeover_secs / 6, poll_secs=takeover_secs / 8)


@dataclasses.dataclass(frozen=True)
class LeaseRow:
    holder: str
    epoch: int
    expires_in_secs: float        # negative: expired


def new_holder_id() -> str:
    """This process's name in the lease: host and a random part (a restart is a new holder)."""
    return f"{socket.gethostname()}/{secrets.token_hex(4)}"


_ACQUIRE = """UPDATE leader_lease
                 SET holder = %s, epoch = epoch + 1, acquired_at = clock_timestamp(),
                     expires_at = clock_timestamp() + make_interval(secs => %s)
               WHERE id = 1 AND expires_at <= clock_timestamp()
           RETURNING epoch"""
_RENEW = """UPDATE leader_lease SET expires_at = clock_timestamp() + make_interval(secs => %s)
             WHERE id = 1 AND epoch = %s AND holder = %s AND expires_at > clock_timestamp()
         RETURNING epoch"""
_RELEASE = """UPDATE leader_lease SET expires_at = clock_timestamp()
               WHERE id = 1 AND epoch = %s AND holder = %s RETURNING epoch"""
_READ = ("SELECT holder, epoch, extract(epoch FROM expires_at) - extract(epoch FROM clock_timestamp()) "
         "FROM leader_lease WHERE id = 1")


class Lease:
    """The lease row, seen by one hierophant (`holder`). Blocking; one thread only."""

    def __init__(self, url: str, holder: str, lease_secs: float) -> None:
        self.url, self.holder, self.lease_secs = url, holder, lease_secs
        self.where = redact(url)
        self._conn: psycopg.Connection | None = None

    def acquire(self) -> int | None:
        """The new epoch if the lease had expired and is now ours, else None."""
        row = self._one(_ACQUIRE, (self.holder, self.lease_secs))
        return None if row is None else int(row[0])

    def renew(self, epoch: int) -> bool:
        """Extend our lease; False when it is no longer ours (expired or taken over)."""
        return self._one(_RENEW, (self.lease_secs, epoch, self.holder)) is not None

    def release(self, epoch: int) -> None:
        """End our lease now (a clean stop), so a standby need not wait for it to expire."""
        self._one(_RELEASE, (epoch, self.holder))

    def read(self) -> LeaseRow:
        holder, epoch, left = self._one(_READ, ())
        return LeaseRow(holder, int(epoch), float(left) if left is not None else float("-inf"))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _one(self, sql: str, args: tuple):
        conn = self._connection()
        try:
            with conn.cursor(row_factory=tuple_row) as cur:
                return cur.execute(sql, args).fetchone()
        except psycopg.OperationalError as e:
            self.close()
            raise StoreUnavailable(f"PostgreSQL at {self.where} (lease): {_reason(e)}") from None

    def _connection(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        # A statement that waits longer than a lease on a lock is of no use to anyone.
        timeout_ms = max(100, int(self.lease_secs * 1000 / 2))
        # Keep the URL's own options (e.g. a search_path naming the schema of the records).
        url_options = psycopg.conninfo.conninfo_to_dict(self.url).get("options")
        options = " ".join(o for o in (url_options, f"-c statement_timeout={timeout_ms}") if o)
        try:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                         application_name="hierophant-lease", options=options)
        except psycopg.OperationalError as e:
            raise StoreUnavailable(f"PostgreSQL at {self.where} (lease) is unreachable: {_reason(e)}") from None
        return self._conn

