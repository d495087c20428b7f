"""The SIGABRT hunt (issue 8): fatal signals leave a traceback, and an opt-in stress test kills
and restarts a hierophant on its data_dir many times with requests and executions in flight.

    HIEROPHANT_STRESS_CYCLES=200 .venv/bin/python -m pytest -q -s tests/integration/test_restart_stress.py
"""
from __future__ import annotations

import collections
import os
import random
import re
import signal
import time

import pytest

from network_lib.client import NetworkClient
from tests.integration.harness import session_processes, wait_session_empty
from tests.integration.sp1data import elf, looping_elf, stdin, vk, vk_hash
from tests.integration.test_contemplants import FAST

CYCLES = int(os.environ.get("HIEROPHANT_STRESS_CYCLES", "0") or 0)


def test_a_fatal_signal_leaves_a_traceback_in_the_log(make_hierophant):
    h = make_hierophant()
    h.proc.send_signal(signal.SIGABRT)
    assert h.proc.wait(20) == -signal.SIGABRT
    log = h.log()
    assert "Fatal Python error: Aborted" in log and 'File "' in log


@pytest.mark.skipif(CYCLES <= 0, reason="opt-in stress test: set HIEROPHANT_STRESS_CYCLES (e.g. 200)")
@pytest.mark.timeout(60 + 15 * CYCLES)
def test_kill9_and_restart_with_requests_and_executions_in_flight(make_hierophant, make_contemplant):
    rng = random.Random(8)
    h = make_hierophant(scheduler=FAST, execution={"processes": 2, "max_cycles": 3_000_000})
    make_contemplant(h, delay_secs=1.0)
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        c.register_program(vk_hash(1), vk(), elf())
        c.register_program(vk_hash(2), vk(), looping_elf())
    outcomes: collections.Counter = collections.Counter()
    failures = []
    started = time.monotonic()
    for cycle in range(CYCLES):
        try:
            with NetworkClient(h.rpc_url, unsigned=True, retry_budget=5) as c:
                for i in range(2):
                    c.request_proof(vk_hash(1), stdin(cycle * 10 + i), "core")
                c.request_proof(vk_hash(2), stdin(cycle), "compressed", cycle_limit=2_000_000)
        except Exception as e:  # noqa: BLE001 - counted; the restart is what is under test
            outcomes[f"submit failed: {type(e).__name__}"] += 1
        time.sleep(rng.uniform(0.0, 0.4))         # executions and dispatches in flight
        sid = h.proc.pid
        h.kill9()
        left = wait_session_empty(sid, timeout=10)
        if left:
            failures.append(f"cycle {cycle}: {len(left)} process(es) of the killed hierophant left")
        try:
            h.start(timeout=60)
            outcomes["restarted"] += 1
        except RuntimeError as e:
            outcomes[f"exit {h.proc.returncode}"] += 1
            failures.append(f"cycle {cycle}: {str(e)[-3000:]}")
            h.start(timeout=60)
    log = h.log()
    live = [int(n) for n in re.findall(r"requests \((\d+) live\)", log)]
    print(f"\n{CYCLES} kill -9 / restart cycles in {time.monotonic() - started:.0f} s: {dict(outcomes)}; "
          f"live requests at restart: up to {max(live, default=0)}; execution verdicts logged: "
          f"{len(re.findall(r'executed: |the program failed|with no verdict', log))}; fatal errors: "
          f"{log.count('Fatal Python error')}; processes of the last hierophant: "
          f"{len(session_processes(h.proc.pid))}")
    assert not failures, "\n".join(failures[:5])
    assert "Fatal Python error" not in log
