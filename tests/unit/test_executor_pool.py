"""The execution process pool: verdicts for good, failing and endless guests."""
from __future__ import annotations

import time

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from network_lib.executor.pool import ExecutionPool, Verdict
from tests.integration.sp1data import elf, looping_elf, panicking_elf, stdin


def _files(tmp_path, program: bytes, inputs: bytes):
    (tmp_path / "p.elf").write_bytes(b"\0" * 8 + program)     # as stored: bincode length prefix
    (tmp_path / "s.bin").write_bytes(inputs)
    return tmp_path / "p.elf", tmp_path / "s.bin"


@pytest_twisted.inlineCallbacks
def test_verdicts(tmp_path):
    pool = ExecutionPool(1)
    try:
        e, s = _files(tmp_path, elf(), stdin(77))
        good = yield pool.run(e, 8, s, 10_000)
        assert good == Verdict(True, cycles=12, public_values=(77).to_bytes(8, "little"))
        e, s = _files(tmp_path, panicking_elf(), stdin())
        panic = yield pool.run(e, 8, s, 10_000)
        assert not panic.ok and panic.cause == 1 and not panic.no_verdict
        e, s = _files(tmp_path, looping_elf(), stdin())
        limited = yield pool.run(e, 8, s, 5_000, cap=1_000_000)
        assert limited.cause == 5 and "5000" in limited.message.replace(",", "")
        capped = yield pool.run(e, 8, s, 10**12, cap=5_000)
        assert capped.no_verdict and capped.cause is None
        e, s = _files(tmp_path, b"not an elf", stdin())
        bad = yield pool.run(e, 8, s, 10_000)
        assert bad.cause == 7 and "ELF" in bad.message
    finally:
        yield pool.stop()


@pytest_twisted.inlineCallbacks
def test_stop_during_a_long_execution_is_quick_and_leaves_no_worker(tmp_path):
    pool = ExecutionPool(1)
    e, s = _files(tmp_path, looping_elf(), stdin())
    running = pool.run(e, 8, s, 10**12)
    running.addErrback(lambda f: None)
    yield deferLater(reactor, 1.0, lambda: None)            # the worker is executing
    workers = list(pool._pool._processes.values())
    assert workers and all(p.is_alive() for p in workers)
    started = time.monotonic()
    yield pool.stop()
    assert time.monotonic() - started < 5
    assert not any(p.is_alive() for p in workers)
