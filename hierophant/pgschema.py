"""PostgreSQL schema of the hierophant's records, as numbered migrations.

A database remembers which migrations it has in `schema_migrations`; `migrate` applies the
missing ones in order, each in its own transaction under an advisory lock (so two
hierophants starting together cannot both apply one), and refuses a database newer than
this release. A migration is never edited once released: a record that gains a field gets a
new migration adding its column, and `missing_columns` (checked at start-up and by the unit
tests) names any field that has none. Runs on the thread that opens the store, before the
reactor starts.
"""
from __future__ import annotations

import psycopg
from psycopg.rows import tuple_row

from hierophant.rows import TABLES, columns

# Arbitrary, fixed: pg_advisory_xact_lock key serialising migrations ("hiero" in ASCII).
LOCK_KEY = 0x686965726F

MIGRATIONS: list[tuple[str, list[str]]] = [
    ("records, as the SQLite store keeps them", [
        """CREATE TABLE programs (
            vk_hash BYTEA PRIMARY KEY, vk BYTEA NOT NULL, program_uri TEXT NOT NULL,
            artifact_id TEXT NOT NULL, owner BYTEA NOT NULL, created_at BIGINT NOT NULL,
            last_used BIGINT NOT NULL)""",
        """CREATE TABLE artifacts (
            id TEXT PRIMARY KEY, kind INTEGER NOT NULL, owner BYTEA NOT NULL,
            created_at BIGINT NOT NULL, upload_token TEXT, download_token TEXT,
            complete BOOLEAN NOT NULL, size BIGINT NOT NULL, wire_sha256 BYTEA NOT NULL,
            completed_at BIGINT)""",
        """CREATE TABLE requests (
            request_id BYTEA PRIMARY KEY, requester BYTEA NOT NULL, vk_hash BYTEA NOT NULL,
            version TEXT NOT NULL, circuit_version TEXT NOT NULL, mode INTEGER NOT NULL,
            strategy INTEGER NOT NULL, stdin_uri TEXT NOT NULL, stdin_artifact TEXT NOT NULL,
            program_artifact TEXT NOT NULL, program_uri TEXT NOT NULL, deadline BIGINT NOT NULL,
            cycle_limit BIGINT NOT NULL, gas_limit BIGINT NOT NULL,
            min_auction_period BIGINT NOT NULL, whitelist TEXT NOT NULL,
            stdin_private BOOLEAN NOT NULL, nonce BIGINT NOT NULL, tx_hash BYTEA NOT NULL,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, fulfillment INTEGER NOT NULL,
            execution INTEGER NOT NULL, fulfilled_at BIGINT, proof_artifact TEXT, cycles BIGINT,
            public_values_hash BYTEA, execute_fail_cause BIGINT NOT NULL, failure TEXT NOT NULL,
            attempts INTEGER NOT NULL, infra_retries INTEGER NOT NULL, attempt INTEGER NOT NULL,
            worker_id TEXT, job_token TEXT, assigned_at DOUBLE PRECISION, extra TEXT NOT NULL)""",
        """CREATE TABLE proof_history (
            id TEXT PRIMARY KEY, request_id BYTEA NOT NULL, attempt INTEGER NOT NULL,
            mode INTEGER NOT NULL, circuit_version TEXT NOT NULL, worker_id TEXT NOT NULL,
            worker_name TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL)""",
        """CREATE TABLE dead_workers (
            worker_id TEXT PRIMARY KEY, name TEXT NOT NULL, address TEXT NOT NULL,
            strikes INTEGER NOT NULL, reason TEXT NOT NULL, died_at DOUBLE PRECISION NOT NULL,
            completed INTEGER NOT NULL)""",
        "CREATE TABLE nonces (address BYTEA PRIMARY KEY, last BIGINT NOT NULL)",
    ]),
    ("requests' JSON columns as jsonb, so operators can query them", [
        "ALTER TABLE requests ALTER COLUMN extra TYPE JSONB USING extra::jsonb",
        "ALTER TABLE requests ALTER COLUMN whitelist TYPE JSONB USING whitelist::jsonb",
    ]),
    ("proof history says how each fulfilled proof was checked", [
        "ALTER TABLE proof_history ADD COLUMN checked TEXT NOT NULL DEFAULT ''",
    ]),
    ("leadership: one lease row and the fencing check every leader write runs (hierophant/lease.py)", [
        """CREATE TABLE leader_lease (
            id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, epoch BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL, acquired_at TIMESTAMPTZ NOT NULL)""",
        "INSERT INTO leader_lease VALUES (1, '', 0, '-infinity', '-infinity')",
        # FOR SHARE: a takeover's UPDATE of the row waits for this transaction, and this
        # transaction, once the takeover committed, sees the new epoch and fails.
        """CREATE FUNCTION hierophant_fence(mine BIGINT) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM leader_lease
             WHERE id = 1 AND epoch = mine AND expires_at > clock_timestamp() FOR SHARE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'fenced: leadership epoch % is no longer held', mine
                      USING ERRCODE = 'HF001';
            END IF;
        END $$""",
    ]),
    ("rate fits: each worker's learned proving rate per mode, for ETAs (hierophant/eta)", [
        """CREATE TABLE rate_fits (
            id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, mode INTEGER NOT NULL,
            proofs INTEGER NOT NULL, mean_weight DOUBLE PRECISION NOT NULL,
            mean_secs DOUBLE PRECISION NOT NULL, weight DOUBLE PRECISION NOT NULL,
            sum_x DOUBLE PRECISION NOT NULL, sum_y DOUBLE PRECISION NOT NULL,
            sum_xx DOUBLE PRECISION NOT NULL, sum_xy DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL)""",
    ]),
]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(Exception):
    """The database's schema cannot be used by this release; the message says why."""


def migrate(conn: psycopg.Connection, upto: int = SCHEMA_VERSION) -> list[int]:
    """Apply missing migrations (1..upto); return the versions applied. `conn` autocommits."""
    with conn.transaction():
        # Under the lock too: two hierophants starting together on an empty database would both
        # try to create it (CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE).
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    applied = []
    for version in range(1, upto + 1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            newest = _rows(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0]
            if newest > SCHEMA_VERSION:
                raise SchemaError(f"database schema {newest} is newer than this hierophant understands "
                                  f"({SCHEMA_VERSION}); upgrade the software")
            if newest >= version:
                continue
            description, statements = MIGRATIONS[version - 1]
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                         (version, description))
            applied.append(version)
    return applied


def missing_columns(conn: psycopg.Connection) -> list[str]:
    """`table.column` of every record field the database has no column for."""
    have = set(_rows(conn, "SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = current_schema()"))
    return [f"{t}.{c}" for t, (cls, _, _) in TABLES.items() for c in columns(cls) if (t, c) not in have]


def _rows(conn: psycopg.Connection, sql: str) -> list[tuple]:
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(sql).fetchall()
