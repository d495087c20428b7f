"""The contemplant's Prometheus metric families (issue 11), in its own CollectorRegistry.

`ContemplantCollector` reads, at scrape time on the reactor, the job table (jobs by phase,
slots), the connection and the last GPU sample of `GpuMonitor` (NVML; refreshed in a thread,
so a scrape never waits on the driver). `ContemplantMetrics.job_finished` counts outcomes as
the job table reaches them (reactor). Served at `GET /metrics` on `http_port` (health.py).
"""
from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contemplant.monitoring import GpuMonitor

JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800)
PHASES = ("received", "downloading", "proving", "uploading", "reporting")

# (metric suffix, help, key in a GpuMonitor sample)
GPU_READINGS = (
    ("utilization_percent", "GPU utilisation (NVML), percent", "utilization_percent"),
    ("memory_used_bytes", "GPU memory in use (NVML)", "memory_used_bytes"),
    ("memory_total_bytes", "GPU memory in all (NVML)", "memory_total_bytes"),
    ("temperature_celsius", "GPU temperature (NVML)", "temperature_c"),
    ("power_watts", "GPU power draw (NVML)", "power_watts"),
)


disable_created_metrics()   # no *_created series: start times are noise on dashboards


class ContemplantCollector(Collector):
    """Jobs, slots, connection and GPUs, read from the live contemplant at each scrape."""

    def __init__(self, status: Callable[[], dict], gpus: GpuMonitor) -> None:
        self.status, self.gpus = status, gpus

    def collect(self) -> Iterator:
        s = self.status()
        g = GaugeMetricFamily("contemplant_jobs", "Jobs in the job table, by phase", labels=["phase"])
        phases = dict.fromkeys(PHASES, 0)
        for job in s["jobs"]:
            phases[job["phase"]] = phases.get(job["phase"], 0) + 1
        for phase, n in phases.items():
            g.add_metric([phase], n)
        yield g
        g = GaugeMetricFamily("contemplant_slots", "Prover slots, by state", labels=["state"])
        g.add_metric(["busy"], s["busy_slots"])
        g.add_metric(["free"], max(0, s["slots"] - s["busy_slots"]))
        yield g
        yield GaugeMetricFamily("contemplant_connected", "1 while registered with the hierophant",
                                value=1 if s["healthy"] else 0)
        yield GaugeMetricFamily("contemplant_draining", "1 while taking no new jobs",
                                value=1 if s["draining"] else 0)
        yield from self._gpus(self.gpus.snapshot())

    @staticmethod
    def _gpus(devices: list[dict]) -> Iterator:
        yield GaugeMetricFamily("contemplant_gpus", "GPUs NVML lists (0 without NVML)", value=len(devices))
        up = GaugeMetricFamily("contemplant_gpu_up", "1 while the GPU answers NVML queries, 0 once it stops "
                               "(fallen off the bus, driver error)", labels=["gpu", "name"])
        readings = {key: GaugeMetricFamily(f"contemplant_gpu_{suffix}", text, labels=["gpu"])
                    for suffix, text, key in GPU_READINGS}
        for d in devices:
            gpu = str(d.get("index"))
            answered = [d.get(key) for key in readings if d.get(key) is not None]
            up.add_metric([gpu, str(d.get("name") or "")], 1 if answered else 0)
            for key, family in readings.items():
                if d.get(key) is not None:
                    family.add_metric([gpu], float(d[key]))
        yield up
        yield from readings.values()


class ContemplantMetrics:
    """Every contemplant family; one instance per process (tests may make their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.jobs_received = Counter("contemplant_jobs_received", "Jobs accepted into a slot, by backend",
                                     ["backend"], registry=r)
        self.jobs_finished = Counter("contemplant_jobs_finished", "Jobs that left the job table, by outcome "
                                     "(completed, program, infrastructure, unsupported, cancelled, gone, rejected)",
                                     ["outcome"], registry=r)
        self.job_duration = Histogram("contemplant_job_duration_seconds", "From job received to its outcome, "
                                      "by outcome", ["outcome"], buckets=JOB_BUCKETS, registry=r)

    def watch(self, status: Callable[[], dict], gpus: GpuMonitor) -> ContemplantCollector:
        collector = ContemplantCollector(status, gpus)
        self.registry.register(collector)
        return collector

    def job_received(self, backend: str) -> None:
        self.jobs_received.labels(backend).inc()

    def job_finished(self, outcome: str, secs: float) -> None:
        self.jobs_finished.labels(outcome).inc()
        self.job_duration.labels(outcome).observe(max(0.0, secs))


FAMILIES = (
    "contemplant_jobs", "contemplant_slots", "contemplant_connected", "contemplant_draining",
    "contemplant_gpus", "contemplant_gpu_up", *(f"contemplant_gpu_{s}" for s, _, _ in GPU_READINGS),
    "contemplant_jobs_received_total", "contemplant_jobs_finished_total", "contemplant_job_duration_seconds",
)
