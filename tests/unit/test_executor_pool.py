"""The execution process pool: verdicts for good, failing and endless guests."""
from __future__ import annotations

import pytest_twisted

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
        pool.stop()
