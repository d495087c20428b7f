"""Bounded, quiet stops (issue 8): a stopping contemplant hands its jobs back in time."""
from __future__ import annotations

import os
import signal
import time

from network_lib.proto import network_pb2 as pb
from tests.integration.harness import wait_session_empty
from tests.integration.test_contemplants import FAST, history, submit, wait_status

DRAIN_SECS = 2


def test_sigterm_during_a_long_proof_releases_it_to_another_contemplant(make_hierophant, make_contemplant):
    # One attempt and no infrastructure retry: a release that cost either would end the request.
    h = make_hierophant(scheduler={**FAST, "max_attempts": 1, "max_infra_retries": 0},
                        execution={"enabled": False})
    slow = make_contemplant(h, name="slow", start=False, delay_secs=60)
    slow.cfg["drain_timeout_secs"] = DRAIN_SECS
    slow.start()
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    started = time.monotonic()
    slow.signal(signal.SIGTERM)
    assert slow.wait_exit(timeout=DRAIN_SECS + 30) == 0
    assert time.monotonic() - started < DRAIN_SECS + 8, slow.log()
    assert "releasing job" in slow.log() and "Traceback" not in slow.log()
    make_contemplant(h, name="fast", delay_secs=0.2)
    wait_status(h, rid, pb.FULFILLED)
    outcomes = [(e["worker_name"], e["outcome"]) for e in history(h, rid)]
    assert ("slow", "released") in outcomes, outcomes


def test_ctrl_c_to_the_process_groups_after_executing_is_quiet(make_hierophant, make_contemplant):
    """A terminal's Ctrl-C reaches every process of the group (pool workers included)."""
    h = make_hierophant()
    c = make_contemplant(h, delay_secs=0.2)
    (rid,) = submit(h)
    wait_status(h, rid, pb.FULFILLED)          # both executed the program in their pools
    for daemon in (c, h):
        os.killpg(daemon.proc.pid, signal.SIGINT)
        assert daemon.proc.wait(30) in (0, -signal.SIGINT)
        assert wait_session_empty(daemon.proc.pid) == []
        for noise in ("Traceback", "KeyboardInterrupt", "leaked", "ResourceWarning"):
            assert noise not in daemon.log(), daemon.log()[-3000:]
