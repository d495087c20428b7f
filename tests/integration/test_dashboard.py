"""ETAs and the live dashboard against real processes (issue 12): a twistd hierophant, mock
contemplants with a delay, and headless Chromium driven over the DevTools protocol.

The browser tests skip (naming Debian's `chromium` package) where Chromium is absent. The
screenshot is kept under tests/artifacts/ (git-ignored); its path is printed.
"""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import urllib.request

import pytest

from network_lib.proto import network_pb2 as pb
from tests.integration.harness import REPO
from tests.integration.test_admin import admin, admin_json
from tests.integration.test_contemplants import submit, wait_status
from tests.integration.test_durability import wait_for

ARTIFACTS = REPO / "tests" / "artifacts"
LOADED = "window.hierophantDashboard && window.hierophantDashboard.updates > 0"


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def slot(h, worker_id: str, rid: bytes) -> dict | None:
    me = next((w for w in h.contemplants() if w["worker_id"] == worker_id), None)
    return next((s for s in me["slots"] if s["request_id"] == "0x" + rid.hex()), None) if me else None


def request_status(h, rid: bytes) -> dict:
    return get_json(f"{h.http_url}/requests/0x{rid.hex()}")


def client_on_a_terminal(h, *args: str, timeout: float = 60.0) -> tuple[int, str]:
    """`hierophant-client` with its stdout on a pseudo-terminal (so it draws its progress bar)."""
    main, side = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "network_lib.client.cli", "--rpc-url", h.rpc_url,
                             "--http-url", h.http_url, "--unsigned", *args], stdout=side, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(side)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:             # the terminal closed: the client exited
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(10), out.decode(errors="replace")


def test_eta_secs_appears_after_a_workers_first_proof_and_is_kept_across_restarts(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, "gpu-a", delay_secs=3)
    (first,) = submit(h)
    busy = wait_for(lambda: slot(h, c.worker_id, first), timeout=60, what="the first proof's slot")
    assert "eta_secs" in busy and busy["eta_secs"] is None          # no finished proof yet: unknown
    assert request_status(h, first)["eta_secs"] is None
    wait_status(h, first, pb.FULFILLED)

    second, queued = submit(h, n=2, program=2)                        # one slot: the other waits
    busy = wait_for(lambda: slot(h, c.worker_id, second), timeout=60, what="the second proof's slot")
    assert isinstance(busy["eta_secs"], (int, float)) and 0 <= busy["eta_secs"] <= 60
    running_eta = request_status(h, second)["eta_secs"]
    assert isinstance(running_eta, (int, float))
    waiting = request_status(h, queued)
    assert waiting["fulfillment_status"] == "REQUESTED"
    assert waiting["eta_secs"] >= 2.0          # a whole proof (3 s) after the running one ends
    shown = admin_json(h, "show", "0x" + second.hex())
    assert isinstance(shown["eta_secs"], (int, float))
    code, out, err = admin(h, "show", "0x" + second.hex())
    assert code == 0 and re.search(r"^eta +\d+s$", out, re.MULTILINE), out + err
    code, out, err = admin(h, "watch", "0x" + second.hex(), "--interval", "0.2")
    assert code == 0 and re.search(r"\] .*assigned.* ETA \d+s$", out, re.MULTILINE), out + err
    code, out = client_on_a_terminal(h, "wait", "0x" + queued.hex())     # the progress bar, with its ETA
    assert code == 0 and re.search(r"ETA \dm\d\ds", out), out
    wait_status(h, queued, pb.FULFILLED)

    h.restart()                                                       # the fits are in the store
    c.wait_registered()
    (third,) = submit(h, program=3)
    busy = wait_for(lambda: slot(h, c.worker_id, third), timeout=60, what="the third proof's slot")
    assert isinstance(busy["eta_secs"], (int, float))
    state = get_json(f"{h.http_url}/dashboard/state.json")
    rates = next(w for w in state["workers"] if w["worker_id"] == c.worker_id)["rates"]
    assert rates["CORE"]["proofs"] >= 3


def test_dashboard_state_and_request_timeline(make_hierophant, make_contemplant):
    h = make_hierophant()
    make_contemplant(h, "gpu-a", delay_secs=0.5)
    (rid,) = submit(h)
    wait_status(h, rid, pb.FULFILLED)
    story = get_json(f"{h.http_url}/dashboard/state.json?request=0x{rid.hex()}")
    events = [(e["event"], e.get("worker_name"), e.get("outcome")) for e in story["timeline"]]
    assert sorted(events, key=str) == sorted([("requested", None, None), ("executed", None, None),
                                              ("attempt", "gpu-a", "fulfilled"), ("fulfilled", None, None)], key=str)
    assert events[0][0] == "requested"      # execution may end after the proof (it runs alongside)
    times = [e["at"] for e in story["timeline"]]
    assert None not in times and times == sorted(times)                 # in time order, each with its time
    assert story["request"]["fulfillment"] == "FULFILLED" and story["request"]["cycles"] > 0
    fleet = get_json(f"{h.http_url}/dashboard/state.json")
    assert fleet["history"][0]["request_id"] == "0x" + rid.hex()
    assert fleet["history"][0]["worker_name"] == "gpu-a" and fleet["history"][0]["cycles"] > 0
    assert [w["name"] for w in fleet["workers"]] == ["gpu-a"] and fleet["counts"]["connected"] == 1


# -- in a browser ------------------------------------------------------------------------------
@pytest.fixture
def browser(tmp_path):
    from tests.integration.browser import MISSING, Browser, binary
    if binary() is None:
        pytest.skip(MISSING)
    pytest.importorskip("websocket", reason="the browser tests need websocket-client (the dev extra)")
    b = Browser(tmp_path / "chromium").start()
    yield b
    b.stop()


def test_dashboard_shows_a_running_proof_live_without_reloading(make_hierophant, make_contemplant, browser):
    h = make_hierophant()
    make_contemplant(h, "gpu-live", delay_secs=30)
    browser.goto(f"{h.http_url}/dashboard")
    browser.wait_js(LOADED, what="the first snapshot")
    loaded = browser.js("window.hierophantDashboard.loadedAt")
    (rid,) = submit(h)                       # after the page loaded: it must appear without a reload
    full = "0x" + rid.hex()
    running = "document.getElementById('running').innerText"
    first = browser.wait_js(f"{running}.includes('{full}') && {running}", what="the running proof")
    assert "gpu-live" in first and "CORE" in first and "%" in first      # its worker and its progress
    assert browser.js("document.querySelector('#running .bar') !== null")
    # the mock reports execute 0 %, execute 100 %, prove 50 %, ... while it runs
    browser.wait_js(f"{running} !== {json.dumps(first)}", timeout=40, what="the running proof's text to change")
    browser.wait_js(f"{running}.includes('prove')", timeout=40, what="the prove phase")
    assert browser.js("window.hierophantDashboard.loadedAt") == loaded          # same page, not reloaded
    assert browser.js("performance.getEntriesByType('navigation').length") == 1
    assert browser.js("window.hierophantDashboard.updates") > 1
    workers = browser.js("document.getElementById('workers').innerText")
    assert "gpu-live" in workers and "slot 0" in workers.lower()


def test_request_page_screenshot_is_kept(make_hierophant, make_contemplant, browser):
    h = make_hierophant()
    make_contemplant(h, "gpu-alpha", delay_secs=0.5)
    (done,) = submit(h)
    wait_status(h, done, pb.FULFILLED)                 # gpu-alpha has a rate: the next gets an ETA
    make_contemplant(h, "gpu-beta", delay_secs=60)
    submit(h, n=3, program=2)                          # two run, one waits
    wait_for(lambda: len(get_json(f"{h.http_url}/dashboard/state.json")["running"]) == 2,
             timeout=60, what="both workers to be proving")
    shots = ARTIFACTS / "dashboard"
    browser.goto(f"{h.http_url}/dashboard")
    browser.wait_js(LOADED, what="the fleet page")
    browser.wait_js("document.querySelectorAll('#running .job').length === 2", what="two running proofs")
    fleet = browser.screenshot(shots / "fleet.png")
    browser.goto(f"{h.http_url}/dashboard/requests/0x{done.hex()}")
    browser.wait_js(LOADED, what="the request page")
    browser.wait_js("document.getElementById('timeline').innerText.includes('fulfilled: the proof is ready')",
                    what="the timeline")
    page = browser.screenshot(shots / "request.png")
    text = browser.text()
    assert "0x" + done.hex() in text and "attempt 1 on gpu-alpha: fulfilled" in text
    for shot in (fleet, page):
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    print(f"\ndashboard screenshots: {fleet} {page}")
