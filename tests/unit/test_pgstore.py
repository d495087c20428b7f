"""The PostgreSQL store against a real PostgreSQL (tests/servers.py): the same records as the
SQLite store, migrations from an empty database and from the previous schema, refusal of a
newer schema, and a server that goes away and comes back."""
from __future__ import annotations

import dataclasses

import psycopg
import pytest
import pytest_twisted
from twisted.internet import defer

from hierophant import pgschema
from hierophant.db import Database
from hierophant.errors import StoreUnavailable
from hierophant.model import (
    Artifact,
    ArtifactKind,
    DeadWorker,
    Execution,
    Fulfillment,
    Program,
    ProofRecord,
    ProofRequest,
)
from hierophant.pgstore import PgStore, redact
from hierophant.rows import U64, to_row

U64_MAX = U64 - 1


def request(n: int = 1, **kw) -> ProofRequest:
    values = {
        "request_id": bytes([n]) * 32, "requester": b"\x11" * 20, "vk_hash": b"\x22" * 32, "version": "sp1-v6.1.0",
        "circuit_version": "v6.1.0", "mode": 4, "strategy": 1, "stdin_uri": "stdin_a", "stdin_artifact": "stdin_a",
        "program_artifact": "program_a", "program_uri": "program_a", "deadline": U64_MAX, "cycle_limit": U64_MAX,
        "gas_limit": 1 << 63, "min_auction_period": 0, "whitelist": (b"\x01" * 20, b"\x02" * 20), "stdin_private": True,
        "nonce": 7, "tx_hash": b"\x33" * 32, "created_at": 1, "updated_at": 2, "fulfillment": Fulfillment.ASSIGNED,
        "execution": Execution.EXECUTED, "cycles": 123, "public_values_hash": b"\x44" * 32, "assigned_at": 1.5,
        "extra": {"public_values": "abcd", "execution_no_verdict": True}}
    values.update(kw)
    return ProofRequest(**values)


RECORDS = [
    Program(b"\x22" * 32, b"vk", "program_a", "program_a", b"\x11" * 20, 1, 2),
    Artifact("stdin_a", ArtifactKind.STDIN, b"\x11" * 20, 3, upload_token="up", complete=True, size=99,
             wire_sha256=b"\x55" * 32, completed_at=4),
    Artifact("proof_a", ArtifactKind.PROOF, b"", 3, download_token="down"),
    request(),
    ProofRecord("h1", b"\x01" * 32, 1, 4, "v6.1.0", "w", "worker", 1.25, 2.5, "fulfilled", "ok", "verified"),
    DeadWorker("w2", "bad", "tcp4:1.2.3.4:5", 3, "garbage", 9.5, 2),
]


def comparable(snapshot) -> dict:
    """Snapshot as plain values (SQLite hands back bools as 0/1)."""
    def norm(r):
        return {k: (int(v) if isinstance(v, bool) else v) for k, v in dataclasses.asdict(r).items()}
    return {name: sorted((norm(r) for r in getattr(snapshot, name)), key=repr)
            for name in ("programs", "artifacts", "requests", "history", "dead_workers")} | {"nonces": snapshot.nonces}


@pytest.fixture
def store(pg_url):
    s = PgStore(pg_url)
    s.start()
    yield s
    s.stop()


@pytest_twisted.inlineCallbacks
def test_records_round_trip_exactly_like_the_sqlite_store(pg_url, tmp_path):
    sqlite = Database(tmp_path / "db.sqlite3")
    pg = PgStore(pg_url)
    for s in (sqlite, pg):
        s.start()
        yield s.write(put=RECORDS, nonces={b"\x11" * 20: U64_MAX, b"\x12" * 20: 3})
        yield s.write(put=[request(extra={"k": [1, 2]})])           # an update replaces the row
        yield s.write(delete=[RECORDS[2]])
        s.stop()
    loaded = [comparable(s.load()) for s in (Database(tmp_path / "db.sqlite3"), PgStore(pg_url))]
    assert loaded[0] == loaded[1]
    snap = PgStore(pg_url).load()
    assert snap.nonces[b"\x11" * 20] == U64_MAX
    (r,) = snap.requests
    assert r.deadline == U64_MAX and r.gas_limit == 1 << 63 and r.extra == {"k": [1, 2]}
    assert r.whitelist == (b"\x01" * 20, b"\x02" * 20) and r.fulfillment is Fulfillment.ASSIGNED
    assert [a.id for a in snap.artifacts] == ["stdin_a"] and snap.artifacts[0].kind is ArtifactKind.STDIN


@pytest_twisted.inlineCallbacks
def test_writes_made_together_commit_in_order(store, pg_url):
    ds = [store.write(put=[request(extra={"n": i})]) for i in range(200)]
    ds.append(store.write(nonces={b"\x01" * 20: 5}))
    yield defer.gatherResults(ds)
    snap = PgStore(pg_url).load()
    assert snap.requests[0].extra == {"n": 199} and snap.nonces == {b"\x01" * 20: 5}


@pytest_twisted.inlineCallbacks
def test_a_bad_write_fails_alone(store, pg_url):
    bad = dataclasses.replace(request(2), version="x" * 10)
    bad.__dict__["created_at"] = "not a number"
    results = yield defer.DeferredList([store.write(put=[request(1)]), store.write(put=[bad]),
                                        store.write(put=[request(3)])], consumeErrors=True)
    assert [ok for ok, _ in results] == [True, False, True]
    assert sorted(r.request_id[0] for r in PgStore(pg_url).load().requests) == [1, 3]


def test_migrates_from_an_empty_database(pg_url):
    PgStore(pg_url)
    with psycopg.connect(pg_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'requests' AND table_schema = current_schema()").fetchall())
    assert versions == list(range(1, pgschema.SCHEMA_VERSION + 1))
    assert types["extra"] == "jsonb" and types["request_id"] == "bytea" and types["deadline"] == "bigint"


@pytest.mark.parametrize("previous", range(1, pgschema.SCHEMA_VERSION))
def test_migrates_a_database_of_an_older_schema_and_keeps_its_rows(pg_url, previous):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert pgschema.migrate(conn, upto=previous) == list(range(1, previous + 1))
        # rows as that release wrote them (JSON as text or jsonb; no proof_history.checked yet)
        conn.execute("INSERT INTO nonces VALUES (%s, %s)", (b"\x01" * 20, 9))
        cols = [f.name for f in dataclasses.fields(ProofRequest)]
        conn.execute(f"INSERT INTO requests ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                     to_row(request()))
        conn.execute("INSERT INTO proof_history (id, request_id, attempt, mode, circuit_version, worker_id, "
                     "worker_name, started_at, finished_at, outcome, detail) "
                     "VALUES ('h1', %s, 1, 4, 'v6.1.0', 'w', 'worker', 1.5, 2.5, 'fulfilled', '')", (b"\x01" * 32,))
    snap = PgStore(pg_url).load()
    assert snap.nonces == {b"\x01" * 20: 9}
    assert snap.requests == [request()]
    assert snap.history[0].checked == "" and snap.history[0].finished_at == 2.5
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT extra->>'public_values' FROM requests").fetchone() == ("abcd",)
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (pgschema.SCHEMA_VERSION,)


def test_a_newer_schema_is_refused_with_the_reason(pg_url):
    PgStore(pg_url).stop()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, 'future')",
                     (pgschema.SCHEMA_VERSION + 1,))
    with pytest.raises(pgschema.SchemaError, match="newer than this hierophant understands"):
        PgStore(pg_url)


def test_a_record_field_without_a_column_is_named(pg_url):
    PgStore(pg_url).stop()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE artifacts DROP COLUMN completed_at")
    with pytest.raises(pgschema.SchemaError, match=r"artifacts\.completed_at"):
        PgStore(pg_url)


def test_unreachable_at_start_up_is_a_clear_error(pg_server):
    url = f"postgresql://hierophant:secret-pw@127.0.0.1:{pg_server.port + 1}/nowhere"
    with pytest.raises(StoreUnavailable) as e:
        PgStore(url)
    assert "unreachable" in str(e.value) and "secret-pw" not in str(e.value)
    assert redact(url) == f"postgresql://hierophant@127.0.0.1:{pg_server.port + 1}/nowhere"


@pytest_twisted.inlineCallbacks
def test_a_server_that_goes_away_fails_writes_then_they_resume(own_pg):
    url = own_pg.create_database("restart")
    store = PgStore(url)
    store.start()
    yield store.write(put=[request(1)])
    own_pg.stop()
    with pytest.raises(StoreUnavailable, match="unavailable|unreachable"):
        yield store.write(put=[request(2)])
    with pytest.raises(StoreUnavailable, match="unreachable"):   # fails fast while it is down
        yield store.write(put=[request(3)])
    own_pg.start()
    yield store.write(put=[request(4)])                          # reconnected by itself
    store.stop()
    assert sorted(r.request_id[0] for r in PgStore(url).load().requests) == [1, 4]
