"""Builds the hierophant: a twistd MultiService of reactor-owned parts (DESIGN.md "Runtime shape").

Start-up reads the whole store before the reactor runs (so the first answer is already
complete), then starts the database thread, the gRPC server and the web site in that order;
stopping runs in reverse, so in-flight RPCs drain before the database closes.

With a PostgreSQL store the process is a `hierophant.leadership.Member` instead: it owns the
ports and builds a `Hierophant(cfg, opened, listen=False)` (every part but the ports) each
time it becomes the leader.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from twisted.application import service
from twisted.internet import defer, threads

from hierophant.admin.actions import AdminActions
from hierophant.admin.api import AdminApi
from hierophant.artifacts import ArtifactIndex
from hierophant.auth import Auth
from hierophant.blobs import open_blobs
from hierophant.config import HaConfig, HierophantConfig
from hierophant.dashboard.events import Broadcaster
from hierophant.dashboard.pages import FLEET, Dashboard
from hierophant.dashboard.snapshot import Snapshots
from hierophant.db import Database
from hierophant.eta.estimates import Estimates, with_slot_etas
from hierophant.eta.rates import Rates
from hierophant.execution import Executions
from hierophant.grpc_server import Bridge, GrpcService
from hierophant.history import History
from hierophant.metrics import HierophantMetrics
from hierophant.network_api import NetworkApi
from hierophant.observe import MetricsService
from hierophant.programs import Nonces, Programs
from hierophant.requests import RequestBook
from hierophant.retention import Retention, retention_service
from hierophant.startup_warnings import log_startup_warnings
from hierophant.store import Store
from hierophant.uploads import Uploads
from hierophant.web.jobs import JobFiles, StatusJson, _trusted, history_limit, route_proof_upload
from hierophant.web.request_status import RequestStatus, lookup_in
from hierophant.web.site import HierophantSite, build_site
from hierophant.web.worker_socket import WorkerGate
from hierophant.workers.dead import DeadWorkers
from hierophant.workers.intake import ProofIntake
from hierophant.workers.scheduler import Scheduler
from hierophant.workers.verification import ProofChecker
from network_lib.dirlock import lock_dir
from network_lib.listening import ListeningPort, tcp_description
from network_lib.logs import route_stdlib_logging
from network_lib.metrics_page import MetricsPage

log = logging.getLogger("hierophant")


class DatabaseService(service.Service):
    """Starts and stops the store (any implementation of hierophant.store's interface)."""

    def __init__(self, store) -> None:
        self.store = store

    def startService(self) -> None:
        self.store.start()
        super().startService()

    def stopService(self):
        super().stopService()
        return threads.deferToThread(self.store.stop)      # drains queued writes off the reactor


@dataclasses.dataclass(frozen=True)
class Opened:
    """What start-up reads before the coordinator is built (blocking: before the reactor
    runs, or on a thread when a standby becomes the leader)."""
    store: Any
    snapshot: Any
    files: Any
    dropped: int


def open_state(cfg: HierophantConfig, data: Path, store=None, reactor=None) -> Opened:
    """Open the store `[store] url` names (unless given), read it, open the artifact blobs."""
    store = store if store is not None else open_store(cfg, data, reactor)
    snap = store.load()
    files = open_blobs(cfg, data)
    return Opened(store, snap, files, files.clear_temp())


class Hierophant(service.MultiService):
    """The coordinator; its parts are attributes so tests and later features can reach them."""

    def __init__(self, cfg: HierophantConfig, opened: Opened | None = None, listen: bool = True,
                 reactor=None, metrics: HierophantMetrics | None = None) -> None:
        """`opened`: the state, already read (a leader's term); else opened here. `listen`:
        bind the gRPC and HTTP ports (a leadership Member binds them itself, and passes its
        `metrics` so that one registry outlives the terms)."""
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.cfg = cfg
        self.serving = False
        self.metrics = metrics or HierophantMetrics()
        data = Path(cfg.data_dir)
        if opened is None:
            data.mkdir(parents=True, exist_ok=True)
            self._lock = lock_dir(data, "data_dir", "hierophant")
            opened = open_state(cfg, data, reactor=reactor)
        self.store = self.db = opened.store
        snap, files, dropped = opened.snapshot, opened.files, opened.dropped
        # The record owners (hierophant.model): each commits through the store before it shows.
        self.artifacts = ArtifactIndex(self.store, files, snap.artifacts, reactor)
        self.programs = Programs(self.store, snap.programs)
        self.nonces = Nonces(self.store, snap.nonces)
        self.history = History(self.store, snap.history)
        self.dead = DeadWorkers(self.store, snap.dead_workers)
        self.requests = RequestBook(self.store, snap.requests, self.proof_uri, cfg.scheduler.deadline_grace_secs,
                                    clock=reactor)
        self.auth = Auth(cfg.auth.mode, cfg.auth.allowlist)
        self.api = NetworkApi(self.artifacts, self.programs, self.nonces, self.requests,
                              self.upload_url, self.auth.checks_nonces)
        self.uploads = Uploads(self.artifacts, cfg.limits.max_artifact_bytes, cfg.limits.max_decompressed_bytes,
                               reactor, self.metrics)
        self.scheduler = Scheduler(cfg.scheduler, self.requests, self.artifacts, self.programs, cfg.public_base,
                                   execution_enabled=cfg.execution.enabled, history=self.history, dead=self.dead,
                                   clock=reactor, metrics=self.metrics)
        # ETAs: rate fits learned from accepted proofs (persisted), estimates over the live state.
        self.rates = Rates(self.store, snap.rate_fits)
        self.estimates = Estimates(self.requests, self.scheduler.workers, self.rates, reactor)
        self.scheduler.on_proven.append(self._learn_rate)
        # The proof check (issue 10): verified / structure / mock, in a process pool.
        self.checker = ProofChecker(cfg.verification, self.programs, reactor)
        self.intake = ProofIntake(self.scheduler, self.artifacts, self.checker, reactor, self.metrics)
        self.executions = Executions(cfg.execution, self.requests, self.artifacts, self.scheduler.executed,
                                     self.metrics)
        self.retention = Retention(self.requests, self.artifacts, self.programs,
                                   cfg.retention.proof_days, cfg.retention.input_days, self.history)
        log.info("loaded %s: %d programs, %d artifacts, %d requests (%d live)%s", _where(cfg, data),
                 len(snap.programs), len(snap.artifacts), len(snap.requests),
                 len(self.requests.live()), f"; dropped {dropped} partial uploads" if dropped else "")
        self._build_children(listen)

    def _build_children(self, listen: bool) -> None:
        cfg = self.cfg
        DatabaseService(self.store).setServiceParent(self)
        self.scheduler.setServiceParent(self)
        MetricsService(self.metrics, self.requests, self.scheduler, self.store, self.reactor).setServiceParent(self)
        self.bridge = Bridge(self.api, self.auth, self.requests, self.reactor)
        self.site = build_site(self.uploads, self.artifacts, lambda: self.serving, self.reactor)
        self._add_worker_endpoints(self.site)
        self._add_dashboard(self.site)
        if listen:
            GrpcService(self.bridge, cfg.bind_address, cfg.grpc_port, cfg.grpc_threads,
                        tls_pair(cfg), self.metrics).setServiceParent(self)
            self.web = web_port(cfg, self.site, self.reactor)
            self.web.setServiceParent(self)
        self.broadcaster.setServiceParent(self)        # stops first: ends the dashboard's streams
        retention_service(self.retention, cfg.retention.sweep_interval_secs).setServiceParent(self)

    def _add_worker_endpoints(self, site: HierophantSite) -> None:
        cfg, s = self.cfg, self.scheduler
        ws_url = cfg.public_base.replace("https://", "wss://").replace("http://", "ws://") + "/ws"
        site.route(b"ws", WorkerGate(s, cfg.worker_token, ws_url))
        site.route(b"jobs", JobFiles(s, self.intake, cfg.worker_token),
                   body=route_proof_upload(self.intake, cfg.worker_token))
        site.route(b"contemplants", StatusJson(lambda r: with_slot_etas(s.workers_json(), self.estimates),
                                               cfg.admin_token))
        site.route(b"dead-contemplants", StatusJson(lambda r: s.dead_json(), cfg.admin_token))
        site.route(b"proof-history", StatusJson(lambda r: s.history_json(history_limit(r)), cfg.admin_token))

        def trusted(request) -> bool:       # DESIGN.md: loopback clients, or admin_token
            return _trusted(request, cfg.admin_token)
        site.route(b"metrics", MetricsPage(self.metrics.registry, trusted))
        site.route(b"admin", AdminApi(AdminActions(self.requests, s, self.estimates.request), trusted, self.reactor))
        # open: the request id is the capability
        site.route(b"requests", RequestStatus(lookup_in(self.requests, s, self.estimates.request)))

    def _add_dashboard(self, site: HierophantSite) -> None:
        s = self.scheduler
        snapshots = Snapshots(self.requests, s.workers, self.history.recent, self.rates, self.estimates,
                              self.reactor)

        def views(key):
            return snapshots.fleet() if key == FLEET else snapshots.request(key)
        self.broadcaster = Broadcaster(views, self.reactor)
        site.route(b"dashboard", Dashboard(views, self.broadcaster, self.cfg.admin_token))

    def _learn_rate(self, worker_id: str, mode: int, secs: float, cycles: int | None) -> None:
        self.rates.learn(worker_id, mode, secs, cycles, self.reactor.seconds())

    def upload_url(self, token: str) -> str:
        return f"{self.cfg.public_base}/upload/{token}"

    def proof_uri(self, artifact_id: str) -> str | None:
        artifact = self.artifacts.get(artifact_id)
        if artifact is None or not artifact.download_token:
            return None
        return f"{self.cfg.public_base}/proofs/{artifact.download_token}"

    def startService(self) -> None:
        super().startService()
        self.executions.resume()
        self.serving = True
        cfg = self.cfg
        log.info("hierophant serving: gRPC %s:%d, HTTP %s:%d, public_url %s, auth %s",
                 cfg.bind_address, cfg.grpc_port, cfg.bind_address, cfg.http_port, cfg.public_url, cfg.auth.mode)

    def stopService(self):
        self.serving = False
        pools_stopped = [self.executions.stop(), self.checker.stop()]
        self.requests.stop()
        return defer.gatherResults([*pools_stopped, super().stopService()])


def open_store(cfg: HierophantConfig, data: Path, reactor=None) -> Store:
    """The store `[store] url` names: PostgreSQL, or SQLite under data_dir (blocking)."""
    if cfg.store.url:
        from hierophant.pgstore import PgStore
        return PgStore(cfg.store.url, reactor)
    return Database(data / "hierophant.sqlite3", reactor)


def _where(cfg: HierophantConfig, data: Path) -> str:
    store = str(data)
    if cfg.store.url:
        from hierophant.pgstore import redact
        store = redact(cfg.store.url)
    if cfg.artifacts.backend == "s3":
        return f"{store} + s3 bucket {cfg.artifacts.s3_bucket!r}"
    return store


def tls_pair(cfg: HierophantConfig) -> tuple[bytes, bytes] | None:
    if not cfg.tls.cert:
        return None
    return Path(cfg.tls.key).read_bytes(), Path(cfg.tls.cert).read_bytes()


def web_port(cfg: HierophantConfig, site, reactor) -> ListeningPort:
    """The HTTP port's listening service (http_port, TLS when configured)."""
    tls = (cfg.tls.key, cfg.tls.cert) if cfg.tls.cert else None
    return ListeningPort("hierophant", "http_port", f"{cfg.bind_address}:{cfg.http_port}",
                         tcp_description(cfg.http_port, cfg.bind_address, tls), site, reactor)


def make_service(cfg: HierophantConfig) -> Hierophant:
    route_stdlib_logging(cfg.log_level)
    log_startup_warnings(cfg)
    if not cfg.store.url and cfg.ha != HaConfig():
        log.warning("[ha] takeover_secs has no effect: a hierophant on SQLite (no [store] url) "
                    "always leads; standbys need a shared PostgreSQL store")
    if cfg.store.url:
        from hierophant.leadership import Member
        return Member(cfg)
    return Hierophant(cfg)
