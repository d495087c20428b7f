"""Executor against the real SP1 fixtures (../shared/fixtures; skipped when absent)."""

from __future__ import annotations

import hashlib
import os
import struct
import time
from pathlib import Path

import pytest

from network_lib.executor import execute
from tests.executor_elfs import stdin_bytes

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
V6 = FIXTURES / "sp1-v6"

needs_fixtures = pytest.mark.skipif(not V6.is_dir(), reason=f"fixtures not found at {FIXTURES}")


@needs_fixtures
@pytest.mark.parametrize("name, n, cycles", [
    ("fibonacci-usize.elf", 1000, 14_966),
    ("loop.elf", 1000, 8_847),
])
def test_fixture_cycle_counts(name: str, n: int, cycles: int) -> None:
    report = execute((V6 / name).read_bytes(), stdin_bytes(struct.pack("<Q", n)))
    assert report.cycles == cycles  # fixtures README
    assert report.public_values == b"" and report.exit_code == 0 and report.version == 6
    assert report.public_values_digest == hashlib.sha256(b"").digest()


@needs_fixtures
def test_fixture_cycle_limit_stops_fibonacci() -> None:
    from network_lib.executor import CycleLimitExceeded

    with pytest.raises(CycleLimitExceeded):
        execute((V6 / "fibonacci-usize.elf").read_bytes(), stdin_bytes(struct.pack("<Q", 1000)),
                cycle_limit=14_965)


@needs_fixtures
@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(os.environ.get("HIEROPHANT_SLOW_TESTS") != "1",
                    reason="set HIEROPHANT_SLOW_TESTS=1 to run the rsp block")
def test_rsp_block_21740136(capsys: pytest.CaptureFixture[str]) -> None:
    elf = (V6 / "rsp-client.elf").read_bytes()
    stdin = stdin_bytes((V6 / "rsp-input-21740136.bin").read_bytes())
    started = time.monotonic()
    report = execute(elf, stdin)
    wall = time.monotonic() - started
    with capsys.disabled():
        print(f"\nrsp block 21740136: {report.cycles:,} cycles in {wall:.1f}s "
              f"({report.cycles / wall / 1e6:.1f} M cycles/s)")
    assert report.exit_code == 0 and report.public_values
    assert hashlib.sha256(report.public_values).digest() == report.public_values_digest
