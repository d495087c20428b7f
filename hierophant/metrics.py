"""The hierophant's Prometheus metric families (issue 11), in its own CollectorRegistry.

Two kinds. Gauges of current state (requests by fulfillment, queue age, workers, slots, dead
workers) are read at scrape time by `FleetCollector` from a `FleetState` that the service's
`read` callable builds from the reactor-owned book and scheduler: nothing to keep in sync.
Counters and histograms are incremented where things happen, through the small methods of
`HierophantMetrics`. Those methods may be called from any thread (prometheus_client's
metrics lock internally): the reactor (scheduler, uploads, execution), gRPC threads (calls)
and the SQLite writer thread (commit latency). Scrapes run on the reactor (web/metrics.py),
which is why collecting only reads.

Families (names fixed by issue 11; `_total`/`_seconds` suffixes as Prometheus' conventions):
see `FAMILIES` at the bottom, and README "Operating a fleet".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from twisted.application import service

# Proofs take seconds (mock, Core on a big GPU) to hours (large Groth16 wraps).
PROOF_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800)
EXECUTION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
CHECK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 45)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LAG_INTERVAL_SECS = 0.5

FULFILLMENTS = ("requested", "assigned", "fulfilled", "unfulfillable")

disable_created_metrics()   # no *_created series: start times are noise on dashboards


@dataclass(frozen=True)
class FleetState:
    """What the state gauges show, read on the reactor at scrape time."""
    requests: Mapping[str, int] = field(default_factory=dict)   # fulfillment (lower case) -> count
    oldest_queued_age_secs: float = 0.0
    queue_next_deadline_secs: float | None = None    # None: nothing queued
    workers_connected: int = 0
    workers_draining: int = 0
    slots_busy: int = 0
    slots_free: int = 0
    dead_workers: int = 0


class FleetCollector(Collector):
    """The state gauges, from `read()` at each scrape."""

    def __init__(self, read: Callable[[], FleetState]) -> None:
        self.read = read

    def describe(self) -> list:
        return list(self._families(FleetState()))

    def collect(self) -> Iterator:
        return self._families(self.read())

    @staticmethod
    def _families(s: FleetState) -> Iterator:
        g = GaugeMetricFamily("hierophant_requests", "Proof requests the hierophant holds, by fulfillment status",
                              labels=["fulfillment"])
        for name in FULFILLMENTS:
            g.add_metric([name], s.requests.get(name, 0))
        yield g
        yield GaugeMetricFamily("hierophant_queue_oldest_age_seconds",
                                "Age of the oldest REQUESTED (queued) request; 0 when the queue is empty",
                                value=s.oldest_queued_age_secs)
        g = GaugeMetricFamily("hierophant_queue_next_deadline_seconds",
                              "Seconds left until the earliest deadline of a REQUESTED (queued) request; "
                              "no sample when the queue is empty")
        if s.queue_next_deadline_secs is not None:
            g.add_metric([], s.queue_next_deadline_secs)
        yield g
        yield GaugeMetricFamily("hierophant_workers_connected", "Contemplants connected now",
                                value=s.workers_connected)
        yield GaugeMetricFamily("hierophant_workers_draining", "Connected contemplants that take no new jobs",
                                value=s.workers_draining)
        g = GaugeMetricFamily("hierophant_slots", "Prover slots of connected contemplants, by state",
                              labels=["state"])
        g.add_metric(["busy"], s.slots_busy)
        g.add_metric(["free"], s.slots_free)
        yield g
        yield GaugeMetricFamily("hierophant_dead_workers", "Contemplants dropped after max_strikes",
                                value=s.dead_workers)


class HierophantMetrics:
    """Every hierophant family; one instance per process (tests may make their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.requests_received = Counter("hierophant_requests_received", "Proof requests accepted by RequestProof",
                                        registry=r)
        self.requests_finished = Counter("hierophant_requests_finished",
                                         "Proof requests that ended, by fulfillment status",
                                         ["fulfillment"], registry=r)
        self.proof_duration = Histogram("hierophant_proof_duration_seconds",
                                        "From assignment to FULFILLED, by proof mode", ["mode"],
                                        buckets=PROOF_BUCKETS, registry=r)
        self.attempts = Counter("hierophant_attempts", "Attempts dispatched to contemplants, by proof mode",
                                ["mode"], registry=r)
        self.attempt_failures = Counter("hierophant_attempt_failures",
                                        "Attempts that ended without a proof, by kind (program, infrastructure, "
                                        "unsupported, bad-proof, timeout, lost, cancelled, ...)",
                                        ["kind"], registry=r)
        self.requeues = Counter("hierophant_requeues", "Requests put back in the queue, by reason",
                                ["reason"], registry=r)
        self.strikes = Counter("hierophant_strikes", "Strikes given to contemplants for bad proofs", registry=r)
        self.workers_dropped = Counter("hierophant_workers_dropped",
                                       "Contemplants dropped after max_strikes", registry=r)
        self.verifications = Counter("hierophant_proof_checks", "Uploaded proofs checked, by result "
                                     "(verified, structure, mock, refused)", ["result"], registry=r)
        self.verification_time = Histogram("hierophant_proof_check_seconds", "Time to check an uploaded proof",
                                           buckets=CHECK_BUCKETS, registry=r)
        self.executions = Counter("hierophant_executions", "Programs executed alongside proving, by result "
                                  "(executed, unexecutable, no-verdict, error)", ["result"], registry=r)
        self.execution_time = Histogram("hierophant_execution_seconds", "Time to execute a program",
                                        buckets=EXECUTION_BUCKETS, registry=r)
        self.grpc_calls = Counter("hierophant_grpc_calls", "gRPC calls answered, by method and status code",
                                  ["method", "code"], registry=r)
        self.grpc_latency = Histogram("hierophant_grpc_call_seconds", "gRPC call latency, by method",
                                      ["method"], buckets=RPC_BUCKETS, registry=r)
        self.uploads = Counter("hierophant_uploads", "Artifact and proof uploads finished, by kind and HTTP code",
                               ["kind", "code"], registry=r)
        self.upload_bytes = Counter("hierophant_upload_bytes", "Bytes received in uploads (on the wire), by kind",
                                    ["kind"], registry=r)
        self.db_commit = Histogram("hierophant_db_commit_seconds", "Latency of one store commit (group of writes)",
                                   buckets=COMMIT_BUCKETS, registry=r)
        self.reactor_lag = Histogram("hierophant_reactor_lag_seconds",
                                     "How late a timer fired on the reactor thread", buckets=LAG_BUCKETS,
                                     registry=r)

    def watch(self, read: Callable[[], FleetState]) -> FleetCollector:
        """Add the state gauges, read from `read()` at each scrape."""
        collector = FleetCollector(read)
        self.registry.register(collector)
        return collector

    # -- events (any thread) ---------------------------------------------------------------
    def attempt_started(self, mode: str) -> None:
        self.attempts.labels(mode).inc()

    def attempt_finished(self, mode: str, outcome: str, secs: float) -> None:
        """An attempt ended: `fulfilled`, or the kind of failure."""
        if outcome == "fulfilled":
            self.proof_duration.labels(mode).observe(max(0.0, secs))
        else:
            self.attempt_failures.labels(outcome).inc()

    def requeued(self, reason: str) -> None:
        self.requeues.labels(reason).inc()

    def struck(self, dropped: bool) -> None:
        self.strikes.inc()
        if dropped:
            self.workers_dropped.inc()

    def proof_checked(self, result: str, secs: float) -> None:
        self.verifications.labels(result).inc()
        self.verification_time.observe(secs)

    def executed(self, result: str, secs: float) -> None:
        self.executions.labels(result).inc()
        self.execution_time.observe(secs)

    def grpc_call(self, method: str, code: str, secs: float) -> None:
        self.grpc_calls.labels(method, code).inc()
        self.grpc_latency.labels(method).observe(secs)

    def upload(self, kind: str, code: int, wire_bytes: int) -> None:
        self.uploads.labels(kind, str(code)).inc()
        if wire_bytes:
            self.upload_bytes.labels(kind).inc(wire_bytes)

    def committed(self, secs: float) -> None:
        self.db_commit.observe(secs)


class ReactorLagProbe(service.Service):
    """Measures the reactor's lag: a timer re-armed every `interval` seconds records how late
    it fired (started and stopped with the service; runs on the reactor)."""

    def __init__(self, metrics: HierophantMetrics, clock=None, interval: float = LAG_INTERVAL_SECS) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.metrics, self.clock, self.interval = metrics, clock, interval
        self._call = None
        self._due = 0.0

    def startService(self) -> None:
        super().startService()
        self._arm()

    def stopService(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        return super().stopService()

    def _arm(self) -> None:
        self._due = self.clock.seconds() + self.interval
        self._call = self.clock.callLater(self.interval, self._fired)

    def _fired(self) -> None:
        self.metrics.reactor_lag.observe(max(0.0, self.clock.seconds() - self._due))
        self._arm()


FAMILIES = (
    "hierophant_requests", "hierophant_queue_oldest_age_seconds", "hierophant_queue_next_deadline_seconds",
    "hierophant_workers_connected",
    "hierophant_workers_draining", "hierophant_slots", "hierophant_dead_workers",
    "hierophant_requests_received_total", "hierophant_requests_finished_total",
    "hierophant_proof_duration_seconds", "hierophant_attempts_total", "hierophant_attempt_failures_total",
    "hierophant_requeues_total", "hierophant_strikes_total", "hierophant_workers_dropped_total",
    "hierophant_proof_checks_total", "hierophant_proof_check_seconds", "hierophant_executions_total",
    "hierophant_execution_seconds", "hierophant_grpc_calls_total", "hierophant_grpc_call_seconds",
    "hierophant_uploads_total", "hierophant_upload_bytes_total", "hierophant_db_commit_seconds",
    "hierophant_reactor_lag_seconds",
)
