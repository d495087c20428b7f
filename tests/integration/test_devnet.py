"""`make run`'s launcher (hierophant-devnet) stops everything within seconds (issue 8)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from network_lib.proto import network_pb2 as pb
from tests import leftovers
from tests.integration.harness import REPO, WORKER_TOKEN, Hierophant, free_port, get_json, write_toml
from tests.integration.test_contemplants import submit, wait_status
from tests.integration.test_durability import wait_for

DEVNET_MARK = "DEVNET_TEST_MARK"      # inherited by the launcher's whole tree


def start_devnet(tmp_path, mark: str) -> tuple[subprocess.Popen, Hierophant]:
    h = Hierophant(tmp_path / "h")        # only its config and addresses: the launcher runs it
    write_toml(h.config_path, h.cfg)
    contemplant_toml = tmp_path / "contemplant.toml"
    write_toml(contemplant_toml, {
        "hierophant_ws_address": f"ws://127.0.0.1:{h.http_port}/ws", "worker_token": WORKER_TOKEN,
        "state_dir": str(tmp_path / "c-state"), "http_port": free_port(),
        "provers": [{"backend": "mock", "delay_secs": 60}]})
    out = open(tmp_path / "devnet.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "hierophant.devnet", "--config", str(h.config_path),
                             "--contemplant-config", str(contemplant_toml)],
                            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), DEVNET_MARK: mark})
    out.close()
    wait_for(lambda: _workers(h), timeout=60, what="the devnet's contemplant to register")
    return proc, h


def _workers(h: Hierophant) -> list:
    try:
        return [w for w in get_json(f"{h.http_url}/contemplants") if w["connected"]]
    except OSError:
        return []


@pytest.mark.parametrize("interrupts,within", [(1, 15.0), (2, 5.0)])
def test_devnet_stops_during_a_proof_and_leaves_nothing(tmp_path, interrupts, within):
    mark = uuid.uuid4().hex
    proc, h = start_devnet(tmp_path, mark)
    try:
        (rid,) = submit(h)
        wait_status(h, rid, pb.ASSIGNED)
        started = time.monotonic()
        for _ in range(interrupts):
            proc.send_signal(signal.SIGINT)     # what Ctrl-C sends the launcher
            time.sleep(0.2)
        assert proc.wait(within + 30) == 0
        assert time.monotonic() - started < within
        assert leftovers.wait_gone(mark, 5, DEVNET_MARK) == []
    finally:
        leftovers.kill(leftovers.leftovers(mark, DEVNET_MARK))
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = (tmp_path / "devnet.out").read_text(errors="replace")
    for noise in ("Traceback", "ResourceWarning", "leaked"):
        assert noise not in output, output[-3000:]
