"""Leadership on a real PostgreSQL (tests/servers.py): the lease row (hierophant/lease.py),
the fencing of a deposed leader's writes (hierophant_fence in every PgStore transaction),
and the Leadership state machine's step-down when its lease runs out locally."""
from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from hierophant.config import load_config
from hierophant.errors import Fenced
from hierophant.leadership import Leadership
from hierophant.lease import Lease, LeaseTiming
from hierophant.model import Program
from hierophant.pgstore import PgStore
from hierophant.service import Hierophant, make_service
from network_lib.config import ConfigError

LEASE = 0.5


def program(n: int) -> Program:
    return Program(bytes([n]) * 32, b"vk", "program_a", "program_a", b"\x11" * 20, 1, 2)


def wait_expired(lease: Lease, timeout: float = 30.0) -> None:
    """Until the row's lease has run out by the database's clock."""
    deadline = time.monotonic() + timeout
    while lease.read().expires_in_secs > 0:
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.05)


@pytest.fixture
def leases(pg_url):
    PgStore(pg_url).stop()                      # migrations: the lease row
    made = []

    def make(name: str, secs: float = LEASE) -> Lease:
        made.append(Lease(pg_url, name, secs))
        return made[-1]
    yield make
    for lease in made:
        lease.close()


def test_one_holder_at_a_time_and_each_acquisition_a_new_epoch(leases):
    a, b = leases("a"), leases("b")
    first = a.acquire()
    assert first is not None and a.read().holder == "a"
    assert b.acquire() is None                  # a holds it
    assert a.renew(first)
    assert not b.renew(first)                   # only its holder renews a lease
    wait_expired(a)
    assert not a.renew(first)                   # run out: not renewed
    second = b.acquire()
    assert second == first + 1 and a.read().holder == "b"
    assert not a.renew(first) and a.acquire() is None
    b.release(second)
    assert a.acquire() == second + 1            # released: no waiting for the expiry


def test_of_many_acquiring_at_once_exactly_one_wins(leases):
    contenders = [leases(f"h{i}", secs=30) for i in range(8)]
    for c in contenders:
        c.read()                                # connected before the start line
    start, results = threading.Barrier(len(contenders)), []

    def run(c):
        start.wait()
        results.append((c.holder, c.acquire()))
    threads = [threading.Thread(target=run, args=(c,)) for c in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [(h, e) for h, e in results if e is not None]
    assert len(results) == 8 and len(winners) == 1
    assert contenders[0].read().holder == winners[0][0]


@pytest_twisted.inlineCallbacks
def test_a_deposed_leaders_store_commits_nothing(leases, pg_url):
    a, b = leases("a"), leases("b")
    epoch = a.acquire()
    fenced = []
    store = PgStore(pg_url, epoch=epoch, on_fenced=lambda: fenced.append(True))
    store.start()
    try:
        a.renew(epoch)
        yield store.write(put=[program(1)])     # while it leads: committed
        wait_expired(a)
        with pytest.raises(Fenced):             # run out, nobody took over yet: refused too
            yield store.write(put=[program(2)])
        assert b.acquire() == epoch + 1
        with pytest.raises(Fenced, match="no longer leads"):
            yield store.write(put=[program(3)], nonces={b"\x11" * 20: 5})
        yield task.deferLater(reactor, 0, lambda: None)
        assert fenced
    finally:
        store.stop()
    with psycopg.connect(pg_url) as conn:
        held = [bytes(r[0]) for r in conn.execute("SELECT vk_hash FROM programs")]
        assert held == [bytes([1]) * 32]
        assert conn.execute("SELECT count(*) FROM nonces").fetchone()[0] == 0


@pytest_twisted.inlineCallbacks
def test_a_write_in_flight_delays_the_takeover_and_lands_before_it(leases, pg_url):
    """The fence holds the lease row FOR SHARE: a takeover waits for the write's COMMIT, so
    whatever the old leader committed is there for the new leader to read."""
    a, b = leases("a", secs=1.0), leases("b", secs=1.0)
    epoch = a.acquire()
    with psycopg.connect(pg_url, autocommit=False) as conn:
        conn.execute("SELECT hierophant_fence(%s)", (epoch,))     # a leader's transaction, open
        conn.execute("INSERT INTO nonces VALUES (%s, 1)", (b"\x22" * 20,))
        wait_expired(a)
        took = threads_result(b.acquire)
        time.sleep(0.5)
        assert not took                         # waiting on the row lock
        conn.commit()
    yield task.deferLater(reactor, 0, lambda: None)
    deadline = time.monotonic() + 30
    while not took:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert took == [epoch + 1]


def threads_result(fn) -> list:
    out: list = []
    threading.Thread(target=lambda: out.append(fn()), daemon=True).start()
    return out


@pytest_twisted.inlineCallbacks
def test_a_leader_whose_renewals_stall_steps_down_when_its_lease_runs_out(leases):
    """A leader that cannot renew (its database hangs, or it was paused) stops leading by its
    own clock when the lease the database granted is over, without hearing from anyone."""
    lease = leases("a")
    timing = LeaseTiming(lease_secs=0.6, renew_secs=0.1, poll_secs=0.1)
    elected, deposed = defer.Deferred(), defer.Deferred()
    stall = threading.Event()
    renew = lease.renew
    lease.renew = lambda epoch: stall.wait(30) and renew(epoch)   # renewals hang
    leadership = Leadership(lease, timing, lambda e: elected.callback(e), lambda why: deposed.callback(why))
    leadership.startService()
    try:
        epoch = yield elected
        assert leadership.leading and epoch >= 1
        started = time.monotonic()
        why = yield deposed
        assert "no renewal succeeded" in why and not leadership.leading
        assert time.monotonic() - started <= timing.lease_secs + 0.5
    finally:
        stall.set()
        leadership.stopService()
        yield leadership.release()


# -- configuration ------------------------------------------------------------------------------
def test_takeover_secs_is_checked_and_named_and_sets_the_lease(tmp_path):
    env = {"HIEROPHANT_WORKER_TOKEN": "t"}
    assert load_config("etc/hierophant.toml", environ=env).ha.takeover_secs == 15.0
    cfg = load_config(None, environ={**env, "HIEROPHANT_HA_TAKEOVER_SECS": "3"})
    assert cfg.ha.takeover_secs == 3.0
    assert LeaseTiming.for_takeover(3.0) == LeaseTiming(lease_secs=0.6 * 3.0, renew_secs=0.5, poll_secs=0.375)
    with pytest.raises(ConfigError, match="ha.takeover_secs"):
        load_config(None, environ={**env, "HIEROPHANT_HA_TAKEOVER_SECS": "0"})
    path = tmp_path / "h.toml"
    path.write_text('worker_token = "t"\n[ha]\ntakeover_seconds = 3\n')
    with pytest.raises(ConfigError, match="ha.takeover_seconds"):
        load_config(path, environ={})


def test_sqlite_always_leads_and_says_takeover_secs_does_nothing(tmp_path, caplog):
    path = tmp_path / "h.toml"
    path.write_text(f'worker_token = "t"\ndata_dir = "{tmp_path / "data"}"\n[ha]\ntakeover_secs = 3\n')
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with caplog.at_level(logging.WARNING, logger="hierophant"):
            svc = make_service(load_config(path, environ={}))
    finally:                                    # make_service routes stdlib logging to twistd's
        root.handlers[:], root.level = handlers, level
    assert isinstance(svc, Hierophant)
    assert any("takeover_secs has no effect" in r.getMessage() for r in caplog.records)
    svc.store.stop()


def test_hierophants_opening_an_empty_database_together_both_start(pg_url):
    """Started at once on an empty database: the migrations (schema_migrations itself too) run
    under one lock, so neither fails on the other's CREATE."""
    start, errors = threading.Barrier(4), []

    def open_store():
        start.wait()
        try:
            PgStore(pg_url).stop()
        except Exception as e:      # noqa: BLE001 - collected and asserted below
            errors.append(e)
    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM leader_lease").fetchone()[0] == 1
