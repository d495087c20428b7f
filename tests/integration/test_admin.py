"""`hierophant-admin` against real processes: each action's effect seen through the SDK contract
and /contemplants; refusals from a client off loopback (in a network namespace); the errors."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from network_lib.proto import network_pb2 as pb
from tests.integration.harness import REPO
from tests.integration.test_contemplants import FAST, history, status, submit, wait_status
from tests.integration.test_durability import wait_for

TOKEN = "test-admin-token"


def admin(h, *args, token: str | None = None, url: str | None = None, prefix: tuple = (), timeout: float = 60):
    """Run the console script: (exit status, stdout, stderr)."""
    cmd = [*prefix, sys.executable, "-m", "hierophant.admin.cli", "--url", url or h.http_url]
    if token:
        cmd += ["--token", token]
    env = {k: v for k, v in os.environ.items() if k != "HIEROPHANT_ADMIN_TOKEN"}
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                         env={**env, "PYTHONPATH": str(REPO)})
    return out.returncode, out.stdout, out.stderr


def admin_json(h, *args, **kw):
    code, out, err = admin(h, *args, "--json", **kw)
    assert code == 0, err
    return json.loads(out)


def rid_hex(rid: bytes) -> str:
    return "0x" + rid.hex()


def slot_of(h, worker_id: str) -> list[dict]:
    me = next(w for w in h.contemplants() if w["worker_id"] == worker_id)
    return me["slots"]


def test_cancel_ends_the_request_and_frees_the_slot(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, delay_secs=120)
    first, second = submit(h, n=2)
    wait_status(h, first, pb.ASSIGNED)
    assert slot_of(h, c.worker_id)[0]["request_id"] == rid_hex(first)

    code, out, err = admin(h, "cancel", rid_hex(first))
    assert code == 0, err
    assert "cancelled by an operator" in out
    final = wait_status(h, first, pb.UNFULFILLABLE)
    assert final.execution_status != pb.UNEXECUTABLE
    shown = admin_json(h, "show", rid_hex(first))
    assert shown["failure"] == "cancelled by an operator"
    # the running attempt stopped on the worker; the freed slot took the next request
    wait_for(lambda: "cancelled by the hierophant" in c.log(), what="the contemplant to cancel the job")
    wait_status(h, second, pb.ASSIGNED)
    wait_for(lambda: slot_of(h, c.worker_id)[0]["request_id"] == rid_hex(second), what="the slot to hold the next")
    assert [(e["outcome"], e["detail"]) for e in history(h, first)] == [("given-up", "cancelled by an operator")]
    assert f"admin: cancel {rid_hex(first)} from 127.0.0.1" in h.log()

    code, _, err = admin(h, "cancel", rid_hex(first))            # already ended
    assert code == 1 and "already ended (UNFULFILLABLE)" in err


def test_requeue_moves_an_assigned_job_without_spending_an_attempt(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler={"max_attempts": 1})
    stuck = make_contemplant(h, "stuck", delay_secs=120)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    make_contemplant(h, "fast", delay_secs=0.2)

    code, out, err = admin(h, "requeue", rid_hex(rid))
    assert code == 0, err
    assert "no attempt spent" in out
    wait_status(h, rid, pb.FULFILLED)
    records = history(h, rid)
    assert [(r["outcome"], r["worker_name"]) for r in records] == [("fulfilled", "fast"), ("requeued", "stuck")]
    shown = admin_json(h, "show", rid_hex(rid))
    assert shown["attempts_failed"] == 0 and shown["attempt"] == 2
    wait_for(lambda: slot_of(h, stuck.worker_id)[0]["request_id"] is None, what="the stuck slot to be free")

    code, _, err = admin(h, "requeue", rid_hex(rid))              # FULFILLED: nothing to requeue
    assert code == 1 and "not ASSIGNED" in err


def test_drain_lets_running_jobs_finish_and_takes_no_new_ones(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, "gpu-a", delay_secs=2)
    (running,) = submit(h)
    wait_status(h, running, pb.ASSIGNED)

    code, out, err = admin(h, "drain", "gpu-a")                   # by its unique name
    assert code == 0, err
    me = c.listed()
    assert me["held"] and not me["draining"]          # held by an operator; the worker is not stopping
    (waiting,) = submit(h, program=2)
    wait_status(h, running, pb.FULFILLED)                         # the running job finished
    # Its slot freed (a fulfilment dispatches at once) but the drained worker took nothing.
    assert status(h, waiting).fulfillment_status == pb.REQUESTED
    assert all(s["request_id"] is None for s in slot_of(h, c.worker_id))
    workers = admin_json(h, "workers")
    assert [w["held"] for w in workers] == [True]
    code, out, _ = admin(h, "workers")
    assert "drained" in out and "gpu-a" in out

    code, out, err = admin(h, "undrain", c.worker_id)              # by worker_id
    assert code == 0, err
    wait_status(h, waiting, pb.FULFILLED)
    assert not c.listed()["held"]
    assert f"admin: undrain gpu-a ({c.worker_id}) from 127.0.0.1" in h.log()


def test_kick_disconnects_and_requeues_at_once_without_spending_an_attempt(make_hierophant, make_contemplant):
    h = make_hierophant(scheduler={**FAST, "max_attempts": 1})
    c = make_contemplant(h, "kickme", delay_secs=120)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    code, out, err = admin(h, "kick", c.worker_id)
    assert code == 0, err
    assert "1 job(s) back in the queue" in out
    assert [r["outcome"] for r in history(h, rid)] == ["kicked"]   # at once, not after a grace
    wait_for(lambda: "closed with code 4006" in c.log(), what="the contemplant to see the kick")
    # It reconnects (a kick is not a ban) and gets the job again as attempt 2: no attempt spent.
    c.wait_registered()
    wait_for(lambda: admin_json(h, "show", rid_hex(rid))["attempt"] == 2, what="the second attempt")
    shown = admin_json(h, "show", rid_hex(rid))
    assert shown["fulfillment"] == "ASSIGNED" and shown["attempts_failed"] == 0
    assert status(h, rid).fulfillment_status == pb.ASSIGNED


def test_watch_draws_progress_until_the_request_ends(make_hierophant, make_contemplant):
    h = make_hierophant()
    make_contemplant(h, delay_secs=1.5)
    (rid,) = submit(h)
    code, out, err = admin(h, "watch", rid_hex(rid), "--interval", "0.2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "fulfilled"
    assert any("[" in line and "fulfilled" in line for line in lines)
    (bad,) = submit(h, program=3)
    admin(h, "cancel", rid_hex(bad))
    code, out, _ = admin(h, "watch", rid_hex(bad))
    assert code == 1 and out.splitlines()[-1] == "unfulfillable: cancelled by an operator"


def test_requests_lists_and_filters(make_hierophant):
    h = make_hierophant()
    a, b = submit(h, n=2)
    admin(h, "cancel", rid_hex(a))
    wait_status(h, a, pb.UNFULFILLABLE)
    listed = admin_json(h, "requests")
    assert {r["request_id"] for r in listed} == {rid_hex(a), rid_hex(b)}
    only = admin_json(h, "requests", "--status", "requested")
    assert [r["request_id"] for r in only] == [rid_hex(b)]
    code, out, _ = admin(h, "requests", "--status", "unfulfillable")
    assert code == 0 and rid_hex(a) in out and "UNFULFILLABLE" in out and rid_hex(b) not in out


def test_errors_are_one_clear_line_and_a_non_zero_exit(make_hierophant, make_contemplant):
    h = make_hierophant()
    make_contemplant(h, "twin", delay_secs=0.2)
    other = make_contemplant(h, "twin-2", start=False, delay_secs=0.2)   # its own state_dir
    other.cfg["name"] = "twin"
    other.start()
    cases = [
        (("show", "0x1234"), 2, "malformed request id '0x1234'"),
        (("cancel", "zz" * 32), 2, "malformed request id"),
        (("show", "0x" + "ab" * 32), 1, f"unknown request 0x{'ab' * 32}"),
        (("requeue", "0x" + "ab" * 32), 1, "unknown request"),
        (("drain", "nobody"), 1, "unknown worker 'nobody'"),
        (("kick", "twin"), 1, "2 connected workers are named 'twin'; give a worker_id"),
        (("requests", "--status", "lost"), 2, "unknown status 'lost'"),
    ]
    for args, exit_status, message in cases:
        code, out, err = admin(h, *args)
        assert code == exit_status, (args, code, out, err)
        assert message in err and len(err.strip().splitlines()) == 1, (args, err)
        assert out == ""
    code, _, err = admin(h, "workers", url="http://127.0.0.1:1")
    assert code == 1 and "cannot reach the hierophant at http://127.0.0.1:1" in err
    # the API underneath: JSON errors naming the problem
    for method, path, status_, message in [
            ("GET", "/admin/requests/0x" + "ab" * 32 + "/cancel", 405, "actions are POSTs, not GET"),
            ("POST", "/admin/nothing", 404, "no admin endpoint POST /admin/nothing"),
            ("GET", "/admin/requests?limit=lots", 400, "limit must be a whole number, got 'lots'"),
            ("GET", "/admin/requests?status=lost", 400, "unknown status 'lost'")]:
        req = urllib.request.Request(h.http_url + path, method=method, data=b"" if method == "POST" else None)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == status_ and message in json.loads(e.value.read())["error"], path


# -- from off loopback: a network namespace with a veth pair -----------------------------------------
def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def netns():
    """A network namespace reaching this host over a veth pair: (namespace, host address)."""
    tag = f"{os.getpid() % 10000}{random.randrange(100)}"
    ns, host_if, ns_if = f"hadm{tag}", f"ha{tag}h", f"ha{tag}n"
    net = random.randrange(1, 250)
    host_ip, ns_ip = f"10.200.{net}.1", f"10.200.{net}.2"
    made = _ip("netns", "add", ns)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here (ip netns add: {made.stderr.strip()})")
    try:
        for args in (("link", "add", host_if, "type", "veth", "peer", "name", ns_if),
                     ("link", "set", ns_if, "netns", ns),
                     ("addr", "add", f"{host_ip}/30", "dev", host_if), ("link", "set", host_if, "up"),
                     ("-n", ns, "addr", "add", f"{ns_ip}/30", "dev", ns_if), ("-n", ns, "link", "set", ns_if, "up"),
                     ("-n", ns, "link", "set", "lo", "up")):
            done = _ip(*args)
            if done.returncode != 0:
                pytest.skip(f"cannot set up a veth pair here (ip {' '.join(args)}: {done.stderr.strip()})")
        yield ns, host_ip
    finally:
        _ip("link", "del", host_if)
        _ip("netns", "del", ns)


def test_off_loopback_needs_the_admin_token(make_hierophant, make_contemplant, netns):
    ns, host_ip = netns
    h = make_hierophant(bind_address="0.0.0.0", admin_token=TOKEN)
    c = make_contemplant(h, "remote-test", delay_secs=0.2)
    url = f"http://{host_ip}:{h.http_port}"
    inside = ("ip", "netns", "exec", ns)

    code, out, err = admin(h, "workers", url=url, prefix=inside)
    assert code == 1 and "refused by the hierophant (HTTP 403)" in err and "HIEROPHANT_ADMIN_TOKEN" in err, err
    code, out, err = admin(h, "kick", c.worker_id, url=url, prefix=inside, token="wrong-token")
    assert code == 1 and "HTTP 403" in err and "the token was refused" in err
    assert c.listed()["connected"]                                   # the refused kick did nothing
    assert f"admin: refused POST /admin/workers/{c.worker_id}/kick from {host_ip[:-1]}2" in h.log()

    workers = json.loads(admin(h, "workers", "--json", url=url, prefix=inside, token=TOKEN)[1])
    assert [w["name"] for w in workers] == ["remote-test"]
    code, out, err = admin(h, "drain", "remote-test", url=url, prefix=inside, token=TOKEN)
    assert code == 0, err
    assert c.listed()["held"]
    assert f"admin: drain remote-test ({c.worker_id}) from {host_ip[:-1]}2" in h.log()

    # /metrics and the JSON status endpoints follow the same rule
    curl = (sys.executable, "-c", "import sys, urllib.request as u\n"
            "r = u.Request(sys.argv[1]); [r.add_header('Authorization', 'Bearer ' + t) for t in sys.argv[2:]]\n"
            "try: print(u.urlopen(r, timeout=10).status)\nexcept Exception as e: print(getattr(e, 'code', e))")
    for path in ("/metrics", "/contemplants"):
        no = subprocess.run([*inside, *curl, url + path], capture_output=True, text=True, timeout=30)
        yes = subprocess.run([*inside, *curl, url + path, TOKEN], capture_output=True, text=True, timeout=30)
        assert (no.stdout.strip(), yes.stdout.strip()) == ("403", "200"), (path, no, yes)
    with urllib.request.urlopen(f"{h.http_url}/metrics", timeout=10) as r:   # loopback: no token
        assert b"hierophant_workers_connected 1.0" in r.read()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{url}/admin/workers", timeout=10)  # this host's veth address is no loopback
