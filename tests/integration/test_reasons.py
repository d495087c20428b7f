"""Reasons reach the client (issue 8): GET /requests/0x<id> and hierophant-client."""
from __future__ import annotations

import io
import urllib.error
import urllib.request

import pytest

from network_lib.client import cli
from network_lib.client.reasons import ProgressBar, fetch
from network_lib.proto import network_pb2 as pb
from tests.integration.harness import get_json
from tests.integration.sp1data import elf, stdin, vk, vk_hash
from tests.integration.test_contemplants import FAST, submit, wait_status


def http_status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def failed(make_hierophant, make_contemplant):
    """A hierophant, and a request that failed on infrastructure with no retry left."""
    h = make_hierophant(scheduler={**FAST, "max_infra_retries": 0}, execution={"enabled": False})
    make_contemplant(h, fail="infrastructure", delay_secs=0.1)
    (rid,) = submit(h)
    wait_status(h, rid, pb.UNFULFILLABLE)
    return h, rid


def test_the_request_endpoint_tells_why_a_request_failed(failed):
    h, rid = failed
    info = fetch(h.http_url, rid)
    assert info["fulfillment_status"] == "UNFULFILLABLE" and info["phase"] == "failed"
    assert "infrastructure" in info["failure_reason"] and "fail = 'infrastructure'" in info["failure_reason"]
    assert info["eta_secs"] is None and info["worker_name"] is None


def test_the_request_endpoint_shows_the_running_attempt(make_hierophant, make_contemplant):
    h = make_hierophant(execution={"enabled": False})
    make_contemplant(h, name="prover-1", delay_secs=30)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    info = fetch(h.http_url, rid)
    assert info["worker_name"] == "prover-1" and info["failure_reason"] is None
    assert info["phase"] in ("assigned", "execute", "prove")


def test_the_request_endpoint_refuses_bad_and_unknown_ids(hierophant):
    code, body = http_status(f"{hierophant.http_url}/requests/0x1234")
    assert code == 400 and "64 hex digits" in body
    code, body = http_status(f"{hierophant.http_url}/requests/0x{'ab' * 32}")
    assert code == 404 and "unknown request id" in body


def test_proof_history_refuses_a_bad_limit(hierophant):
    for bad in ("abc", "0", "-5", "10001"):
        code, body = http_status(f"{hierophant.http_url}/proof-history?limit={bad}")
        assert code == 400 and "limit" in body and bad in body, (bad, body)
    assert get_json(f"{hierophant.http_url}/proof-history?limit=5") == []


@pytest.mark.parametrize("command", ["wait", "status", "details"])
def test_the_client_prints_why_a_request_failed(failed, command, capsys):
    h, rid = failed
    argv = ["--rpc-url", h.rpc_url, "--http-url", h.http_url, "--unsigned", command, "0x" + rid.hex()]
    code = cli.main(argv)
    out = capsys.readouterr()
    assert "fail = 'infrastructure'" in out.out + out.err
    assert code == (cli.EXIT_REQUEST_FAILED if command == "wait" else 0)


def test_prove_prints_why_it_failed(make_hierophant, make_contemplant, tmp_path, capsys):
    h = make_hierophant(scheduler={**FAST, "max_attempts": 1}, execution={"enabled": False})
    make_contemplant(h, fail="program", delay_secs=0.1)
    (tmp_path / "p.elf").write_bytes(elf())
    (tmp_path / "in.bin").write_bytes(stdin(7))
    (tmp_path / "vk.bin").write_bytes(vk())
    code = cli.main(["--rpc-url", h.rpc_url, "--http-url", h.http_url, "--unsigned", "prove",
                     "--elf", str(tmp_path / "p.elf"), "--vk-hash", "0x" + vk_hash(9).hex(),
                     "--vk", str(tmp_path / "vk.bin"), "--stdin", str(tmp_path / "in.bin")])
    assert code == cli.EXIT_REQUEST_FAILED
    assert "fail = 'program'" in capsys.readouterr().err


def test_the_progress_bar_shows_phase_percent_and_eta():
    out = io.StringIO()
    bar = ProgressBar(out)
    bar.draw({"phase": "prove", "progress_percent": 50.0, "eta_secs": 65}, "proving")
    bar.draw(None, "queued")
    bar.close()
    text = out.getvalue()
    assert "prove" in text and "50%" in text and "ETA 1m05s" in text and "#" * 12 in text
    assert "\rqueued" in text and text.endswith("\n")
