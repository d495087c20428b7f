"""The contemplant's reconnect policy comes well inside the hierophant's reconnect grace."""
from __future__ import annotations

from contemplant.connection import Connection
from hierophant.config import SchedulerConfig


def test_first_retry_is_well_inside_reconnect_grace_and_later_ones_are_capped():
    conn = Connection("ws://127.0.0.1:1/ws", "t", worker=None)
    first = [conn.retry_policy(1) for _ in range(200)]
    assert max(first) <= 0.75 and min(first) >= 0.5
    assert max(first) < SchedulerConfig().reconnect_grace_secs / 5
    assert conn.retry_policy(3) >= 2.0
    assert max(conn.retry_policy(n) for n in range(1, 40)) <= 30.0 + 0.25
    assert conn.retry_policy(40) >= 30.0
