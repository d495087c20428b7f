"""Metric families of both daemons: names, values read at scrape time, event counters, the
reactor-lag probe, the gRPC interceptor (a real in-process grpcio server) and /metrics access."""
from __future__ import annotations

import types
from concurrent import futures

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import task
from twisted.web.test.requesthelper import DummyRequest

from contemplant import metrics as cmetrics
from contemplant.monitoring import GpuMonitor
from hierophant import metrics as hmetrics
from hierophant.grpc_metrics import MetricsInterceptor
from network_lib.metrics_page import MetricsPage
from prometheus_client import generate_latest


def samples(registry) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of a registry, parsed from the text format."""
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def family_names(registry) -> set[str]:
    text = generate_latest(registry).decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}


def test_every_hierophant_family_is_exposed_with_its_name():
    m = hmetrics.HierophantMetrics()
    m.watch(lambda: hmetrics.FleetState())
    names = family_names(m.registry)
    expected = set(hmetrics.FAMILIES)
    assert expected <= names, expected - names
    for required in ("hierophant_requests", "hierophant_queue_oldest_age_seconds", "hierophant_workers_connected",
                     "hierophant_slots", "hierophant_proof_duration_seconds"):
        assert required in names


def test_fleet_gauges_are_read_at_scrape_time():
    m = hmetrics.HierophantMetrics()
    state = {"now": hmetrics.FleetState()}
    m.watch(lambda: state["now"])
    before = samples(m.registry)
    assert before[("hierophant_requests", (("fulfillment", "requested"),))] == 0
    assert before[("hierophant_queue_oldest_age_seconds", ())] == 0
    assert ("hierophant_queue_next_deadline_seconds", ()) not in before
    state["now"] = hmetrics.FleetState(requests={"requested": 3, "fulfilled": 7}, oldest_queued_age_secs=42.5,
                                       queue_next_deadline_secs=600.0,
                                       workers_connected=2, workers_draining=1, slots_busy=3, slots_free=1,
                                       dead_workers=1)
    after = samples(m.registry)
    assert after[("hierophant_requests", (("fulfillment", "requested"),))] == 3
    assert after[("hierophant_requests", (("fulfillment", "fulfilled"),))] == 7
    assert after[("hierophant_requests", (("fulfillment", "assigned"),))] == 0
    assert after[("hierophant_requests", (("fulfillment", "unfulfillable"),))] == 0
    assert after[("hierophant_queue_oldest_age_seconds", ())] == 42.5
    assert after[("hierophant_queue_next_deadline_seconds", ())] == 600
    assert after[("hierophant_workers_connected", ())] == 2
    assert after[("hierophant_workers_draining", ())] == 1
    assert after[("hierophant_slots", (("state", "busy"),))] == 3
    assert after[("hierophant_slots", (("state", "free"),))] == 1
    assert after[("hierophant_dead_workers", ())] == 1


def test_event_counters_and_histograms():
    m = hmetrics.HierophantMetrics()
    m.attempt_started("GROTH16")
    m.attempt_finished("GROTH16", "fulfilled", 90.0)
    m.attempt_finished("GROTH16", "infrastructure", 3.0)
    m.requeued("infrastructure")
    m.struck(dropped=False)
    m.struck(dropped=True)
    m.proof_checked("verified", 0.2)
    m.executed("executed", 1.5)
    m.grpc_call("GetNonce", "OK", 0.002)
    m.upload("stdin", 200, 1000)
    m.committed(0.003)
    s = samples(m.registry)
    assert s[("hierophant_attempts_total", (("mode", "GROTH16"),))] == 1
    assert s[("hierophant_proof_duration_seconds_count", (("mode", "GROTH16"),))] == 1
    assert s[("hierophant_proof_duration_seconds_bucket", (("le", "60.0"), ("mode", "GROTH16")))] == 0
    assert s[("hierophant_proof_duration_seconds_bucket", (("le", "120.0"), ("mode", "GROTH16")))] == 1
    assert s[("hierophant_attempt_failures_total", (("kind", "infrastructure"),))] == 1
    assert s[("hierophant_requeues_total", (("reason", "infrastructure"),))] == 1
    assert s[("hierophant_strikes_total", ())] == 2
    assert s[("hierophant_workers_dropped_total", ())] == 1
    assert s[("hierophant_proof_checks_total", (("result", "verified"),))] == 1
    assert s[("hierophant_executions_total", (("result", "executed"),))] == 1
    assert s[("hierophant_grpc_calls_total", (("code", "OK"), ("method", "GetNonce")))] == 1
    assert s[("hierophant_uploads_total", (("code", "200"), ("kind", "stdin")))] == 1
    assert s[("hierophant_upload_bytes_total", (("kind", "stdin"),))] == 1000
    assert s[("hierophant_db_commit_seconds_count", ())] == 1


def test_reactor_lag_probe_records_how_late_its_timer_fired():
    clock = task.Clock()
    m = hmetrics.HierophantMetrics()
    probe = hmetrics.ReactorLagProbe(m, clock, interval=0.5)
    probe.startService()
    clock.advance(0.5)          # on time
    clock.advance(0.5 + 0.3)    # 0.3 s late: the reactor was busy
    probe.stopService()
    assert not clock.getDelayedCalls()
    s = samples(m.registry)
    assert s[("hierophant_reactor_lag_seconds_count", ())] == 2
    assert s[("hierophant_reactor_lag_seconds_bucket", (("le", "0.001"),))] == 1
    assert s[("hierophant_reactor_lag_seconds_bucket", (("le", "0.25"),))] == 1
    assert s[("hierophant_reactor_lag_seconds_bucket", (("le", "0.5"),))] == 2
    assert s[("hierophant_reactor_lag_seconds_sum", ())] == pytest.approx(0.3)


def test_grpc_interceptor_counts_methods_and_codes():
    m = hmetrics.HierophantMetrics()

    def ok(request, context):
        return b"fine"

    def refuse(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    handler = grpc.method_handlers_generic_handler("t.S", {
        "Ok": grpc.unary_unary_rpc_method_handler(ok),
        "Refuse": grpc.unary_unary_rpc_method_handler(refuse)})
    server = grpc.server(futures.ThreadPoolExecutor(2), handlers=[handler], interceptors=[MetricsInterceptor(m)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert channel.unary_unary("/t.S/Ok")(b"x") == b"fine"
            with pytest.raises(grpc.RpcError) as e:
                channel.unary_unary("/t.S/Refuse")(b"x")
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        server.stop(None)
    s = samples(m.registry)
    assert s[("hierophant_grpc_calls_total", (("code", "OK"), ("method", "Ok")))] == 1
    assert s[("hierophant_grpc_calls_total", (("code", "NOT_FOUND"), ("method", "Refuse")))] == 1
    assert s[("hierophant_grpc_call_seconds_count", (("method", "Ok"),))] == 1


def _page(registry, allowed=None, accept=b"", path=()):
    page = MetricsPage(registry, allowed)
    request = DummyRequest(list(path))
    if accept:
        request.requestHeaders.setRawHeaders(b"accept", [accept])
    body = page.render_GET(request)
    return request, body


def test_metrics_page_formats_and_guards():
    m = hmetrics.HierophantMetrics()
    m.watch(lambda: hmetrics.FleetState(workers_connected=4))
    request, body = _page(m.registry)
    assert request.responseHeaders.getRawHeaders(b"content-type")[0].startswith(b"text/plain; version=0.0.4")
    assert b"hierophant_workers_connected 4.0" in body
    request, body = _page(m.registry, accept=b"application/openmetrics-text; version=1.0.0")
    assert request.responseHeaders.getRawHeaders(b"content-type")[0].startswith(b"application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    request, body = _page(m.registry, allowed=lambda r: False)
    assert request.responseCode == 403 and b"admin_token" in body
    request, body = _page(m.registry, path=[b"extra"])
    assert request.responseCode == 404


class FakeNvml:
    """A pynvml whose second GPU has fallen off the bus: every query about it fails."""
    NVML_TEMPERATURE_GPU = 0

    class Lost(Exception):
        pass

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def _q(self, h, value):
        if h == 1:
            raise self.Lost("GPU is lost")
        return value

    def nvmlDeviceGetName(self, h):
        return self._q(h, "NVIDIA H200")

    def nvmlDeviceGetMemoryInfo(self, h):
        return self._q(h, types.SimpleNamespace(used=10 << 30, total=141 << 30))

    def nvmlDeviceGetUtilizationRates(self, h):
        return self._q(h, types.SimpleNamespace(gpu=88))

    def nvmlDeviceGetTemperature(self, h, sensor):
        return self._q(h, 70)

    def nvmlDeviceGetPowerUsage(self, h):
        return self._q(h, 612_000)


def test_contemplant_families_jobs_slots_and_gpus():
    m = cmetrics.ContemplantMetrics()
    status = {"healthy": True, "draining": False, "slots": 3, "busy_slots": 2,
              "jobs": [{"phase": "proving"}, {"phase": "proving"}, {"phase": "uploading"}]}
    m.watch(lambda: status, GpuMonitor(FakeNvml()))
    m.job_received("mock")
    m.job_finished("completed", 12.0)
    m.job_finished("program", 1.0)
    names = family_names(m.registry)
    assert set(cmetrics.FAMILIES) <= names
    s = samples(m.registry)
    assert s[("contemplant_jobs", (("phase", "proving"),))] == 2
    assert s[("contemplant_jobs", (("phase", "uploading"),))] == 1
    assert s[("contemplant_jobs", (("phase", "downloading"),))] == 0
    assert s[("contemplant_slots", (("state", "busy"),))] == 2
    assert s[("contemplant_slots", (("state", "free"),))] == 1
    assert s[("contemplant_connected", ())] == 1
    assert s[("contemplant_draining", ())] == 0
    assert s[("contemplant_gpus", ())] == 2
    assert s[("contemplant_gpu_up", (("gpu", "0"), ("name", "NVIDIA H200")))] == 1
    assert s[("contemplant_gpu_up", (("gpu", "1"), ("name", "")))] == 0
    assert s[("contemplant_gpu_utilization_percent", (("gpu", "0"),))] == 88
    assert s[("contemplant_gpu_memory_used_bytes", (("gpu", "0"),))] == 10 << 30
    assert s[("contemplant_gpu_memory_total_bytes", (("gpu", "0"),))] == 141 << 30
    assert s[("contemplant_gpu_temperature_celsius", (("gpu", "0"),))] == 70
    assert s[("contemplant_gpu_power_watts", (("gpu", "0"),))] == 612
    assert ("contemplant_gpu_power_watts", (("gpu", "1"),)) not in s
    assert s[("contemplant_jobs_received_total", (("backend", "mock"),))] == 1
    assert s[("contemplant_jobs_finished_total", (("outcome", "completed"),))] == 1
    assert s[("contemplant_jobs_finished_total", (("outcome", "program"),))] == 1


def test_contemplant_without_nvml_has_no_gpu_series():
    m = cmetrics.ContemplantMetrics()
    status = {"healthy": False, "draining": True, "slots": 1, "busy_slots": 0, "jobs": []}
    nvml = types.SimpleNamespace(nvmlInit=lambda: (_ for _ in ()).throw(RuntimeError("Driver Not Loaded")))
    m.watch(lambda: status, GpuMonitor(nvml))
    s = samples(m.registry)
    assert s[("contemplant_gpus", ())] == 0
    assert s[("contemplant_connected", ())] == 0 and s[("contemplant_draining", ())] == 1
    assert not [k for k in s if k[0].startswith("contemplant_gpu_")]
