"""A real Prometheus scrapes a running hierophant and contemplant; PromQL through its HTTP API
sees what happened. promtool checks (and unit-tests) the shipped alert rules."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from contemplant.metrics import FAMILIES as CONTEMPLANT_FAMILIES
from hierophant.metrics import FAMILIES as HIEROPHANT_FAMILIES
from network_lib.client import NetworkClient
from network_lib.proto import network_pb2 as pb
from tests.integration.harness import REPO
from tests.integration.prometheus_server import MISSING, promtool
from tests.integration.sp1data import panicking_elf, stdin, vk, vk_hash
from tests.integration.test_contemplants import client, status, submit, wait_status

ALERTS = REPO / "etc" / "prometheus" / "alerts.yml"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yml")
DASHBOARD = REPO / "etc" / "grafana" / "hierophant.json"


# 3 proofs fulfilled and 1 program that panics, on one contemplant with one slot
AFTER_PROOFS = {
    'hierophant_requests{fulfillment="fulfilled"}': 3,
    'hierophant_requests{fulfillment="unfulfillable"}': 1,
    'hierophant_requests{fulfillment="requested"}': 0,
    'hierophant_requests{fulfillment="assigned"}': 0,
    "hierophant_queue_oldest_age_seconds": 0,
    'sum(hierophant_slots{state="free"})': 1,
    "hierophant_requests_received_total": 4,
    'sum(hierophant_grpc_calls_total{method="RequestProof",code="OK"})': 4,
    'hierophant_requests_finished_total{fulfillment="fulfilled"}': 3,
    'hierophant_proof_duration_seconds_count{mode="CORE"}': 3,
    'hierophant_attempts_total{mode="CORE"} >= bool 3': 1,      # 4 when the panic was dispatched
    'hierophant_proof_checks_total{result="mock"}': 3,           # the mock contemplant's proofs
    'hierophant_uploads_total{kind="proof",code="200"}': 3,
    'hierophant_uploads_total{kind="stdin",code="200"}': 4,
    'hierophant_executions_total{result="executed"}': 3,
    'hierophant_executions_total{result="unexecutable"}': 1,
    'contemplant_jobs_finished_total{outcome="completed"}': 3,
    "contemplant_connected": 1,
}


def dashboard_queries() -> list[str]:
    """Every panel's PromQL, with the dashboard's instance variables meaning "all"."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"].replace("$hierophant", ".*").replace("$contemplant", ".*")
            for p in panels for t in p.get("targets", [])]


def test_prometheus_sees_requests_workers_and_jobs(make_hierophant, make_contemplant, make_prometheus):
    h = make_hierophant(scheduler={"max_attempts": 1})
    c = make_contemplant(h, delay_secs=0.2)
    prom = make_prometheus({"hierophant": [f"127.0.0.1:{h.http_port}"],
                            "contemplant": [f"127.0.0.1:{c.http_port}"]})
    prom.wait_value('up{job="hierophant"}', 1)
    prom.wait_value('up{job="contemplant"}', 1)
    prom.wait_value("hierophant_workers_connected", 1)

    rids = submit(h, n=3)
    with NetworkClient(h.rpc_url, unsigned=True, profile="6.x") as net:   # a program that panics
        net.register_program(vk_hash(7), vk(), panicking_elf())
        bad = net.request_proof(vk_hash(7), stdin(1), "core")
    for rid in rids:
        wait_status(h, rid, pb.FULFILLED)
    wait_status(h, bad, pb.UNFULFILLABLE)

    for promql, value in AFTER_PROOFS.items():
        prom.wait_value(promql, value)
    assert prom.value("hierophant_db_commit_seconds_count") > 0
    assert prom.value("hierophant_reactor_lag_seconds_count") > 0

    # Every dashboard query is valid PromQL over families that exist, and the gauges show data.
    known = set(HIEROPHANT_FAMILIES) | set(CONTEMPLANT_FAMILIES)
    for expr in dashboard_queries():
        used = {m for m in re.findall(r"\b((?:hierophant|contemplant)_[a-z_]+)", expr)}
        assert {re.sub(r"_(bucket|sum|count)$", "", m) for m in used} <= known, expr
        result = prom.query(expr)
        if not re.search(r"rate\(|gpu|deadline|> 0", expr):
            assert result, f"no data for dashboard query {expr}"

    c.kill9()
    prom.wait_value("hierophant_workers_connected", 0)
    prom.wait_value('up{job="contemplant"}', 0)
    with client(h) as net:
        assert net.get_proof_status(rids[0]).fulfillment_status == pb.FULFILLED
    assert status(h, bad).fulfillment_status == pb.UNFULFILLABLE


@pytest.fixture
def promtool_binary():
    tool = promtool()
    if tool is None:
        pytest.skip(MISSING)
    return tool


def test_promtool_accepts_the_alert_rules(promtool_binary):
    out = subprocess.run([promtool_binary, "check", "rules", str(ALERTS)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_the_alert_rules_fire_when_they_should(promtool_binary):
    """promtool's rule unit tests (alerts_test.yml): each alert fires on a made-up series
    and stays quiet on a healthy one."""
    out = subprocess.run([promtool_binary, "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True,
                         timeout=120, cwd=ALERT_TESTS.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr
