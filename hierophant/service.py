"""Builds the hierophant: a twistd MultiService of reactor-owned parts (DESIGN.md "Runtime shape").

Start-up reads the whole store before the reactor runs (so the first answer is already
complete), then starts the database thread, the gRPC server and the web site in that order;
stopping runs in reverse, so in-flight RPCs drain before the database closes.
"""
from __future__ import annotations

import logging
from pathlib import Path

from twisted.application import service
from twisted.application.internet import SSLServer, TCPServer
from twisted.internet import defer, ssl

from hierophant.admin.actions import AdminActions
from hierophant.admin.api import AdminApi
from hierophant.artifacts import ArtifactFiles, ArtifactIndex
from hierophant.auth import Auth
from hierophant.config import HierophantConfig
from hierophant.dashboard.events import Broadcaster
from hierophant.dashboard.pages import FLEET, Dashboard
from hierophant.dashboard.snapshot import Snapshots
from hierophant.db import Database
from hierophant.eta.estimates import Estimates, with_slot_etas
from hierophant.eta.rates import Rates
from hierophant.execution import Executions
from hierophant.grpc_server import Bridge, GrpcService
from hierophant.metrics import HierophantMetrics
from hierophant.network_api import NetworkApi
from hierophant.observe import MetricsService
from hierophant.programs import Nonces, Programs
from hierophant.requests import RequestBook
from hierophant.retention import Retention, retention_service
from hierophant.startup_warnings import log_startup_warnings
from hierophant.uploads import Uploads
from hierophant.web.request_status import RequestStatus, lookup_in
from hierophant.web.site import build_site
from hierophant.workers.http import JobFiles, StatusJson, _trusted, history_limit, route_proof_upload
from hierophant.workers.scheduler import Scheduler
from hierophant.workers.ws import WorkerGate
from network_lib.dirlock import lock_dir
from network_lib.logs import route_stdlib_logging
from network_lib.metrics_page import MetricsPage

log = logging.getLogger("hierophant")


class DatabaseService(service.Service):
    def __init__(self, db: Database) -> None:
        self.db = db

    def startService(self) -> None:
        self.db.start()
        super().startService()

    def stopService(self):
        super().stopService()
        self.db.stop()


class Hierophant(service.MultiService):
    """The coordinator; its parts are attributes so tests and later features can reach them."""

    def __init__(self, cfg: HierophantConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.serving = False
        self.metrics = HierophantMetrics()
        data = Path(cfg.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self._lock = lock_dir(data, "data_dir", "hierophant")
        self.db = Database(data / "hierophant.sqlite3")
        snap = self.db.load()
        files = ArtifactFiles(data / "artifacts")
        dropped = files.clear_temp()
        self.artifacts = ArtifactIndex(self.db, files, snap.artifacts)
        self.programs = Programs(self.db, snap.programs)
        self.nonces = Nonces(snap.nonces)
        self.requests = RequestBook(self.db, snap.requests, self.proof_uri, cfg.scheduler.deadline_grace_secs)
        self.auth = Auth(cfg.auth.mode, cfg.auth.allowlist)
        self.api = NetworkApi(self.artifacts, self.programs, self.nonces, self.requests,
                              self.upload_url, self.auth.checks_nonces)
        self.uploads = Uploads(self.artifacts, cfg.limits.max_artifact_bytes, cfg.limits.max_decompressed_bytes,
                               self.metrics)
        self.scheduler = Scheduler(cfg.scheduler, self.requests, self.artifacts, self.programs, self.db,
                                   cfg.public_base, execution_enabled=cfg.execution.enabled,
                                   history=snap.history, dead=snap.dead_workers, metrics=self.metrics)
        self.rates = Rates(self.db, snap.rate_fits)
        self.estimates = Estimates(self.requests, self.scheduler.workers, self.rates, self.scheduler.clock)
        self.scheduler.on_proven.append(self._learn_rate)
        self.executions = Executions(cfg.execution, self.requests, self.artifacts, self.scheduler.executed,
                                     self.metrics)
        self.retention = Retention(self.requests, self.artifacts, self.programs,
                                   cfg.retention.proof_days, cfg.retention.input_days, self.scheduler.history)
        log.info("loaded %s: %d programs, %d artifacts, %d requests (%d live)%s", data,
                 len(snap.programs), len(snap.artifacts), len(snap.requests),
                 len(self.requests.live()), f"; dropped {dropped} partial uploads" if dropped else "")
        self._build_children()

    def _build_children(self) -> None:
        from twisted.internet import reactor
        cfg = self.cfg
        DatabaseService(self.db).setServiceParent(self)
        MetricsService(self.metrics, self.requests, self.scheduler, self.db, reactor).setServiceParent(self)
        bridge = Bridge(self.api, self.auth, self.requests, reactor)
        GrpcService(bridge, cfg.bind_address, cfg.grpc_port, cfg.grpc_threads, _tls_pair(cfg),
                    self.metrics).setServiceParent(self)
        site = build_site(self.uploads, self.artifacts, lambda: self.serving)
        self._add_worker_endpoints(site)
        self._add_dashboard(site.resource)
        self.web = _web_server(cfg, site)
        self.web.setServiceParent(self)
        self.broadcaster.setServiceParent(self)        # stops first: ends the dashboard's streams
        retention_service(self.retention, cfg.retention.sweep_interval_secs).setServiceParent(self)

    def _add_worker_endpoints(self, site) -> None:
        cfg, s, root = self.cfg, self.scheduler, site.resource
        ws_url = cfg.public_base.replace("https://", "wss://").replace("http://", "ws://") + "/ws"
        root.putChild(b"ws", WorkerGate(s, cfg.worker_token, ws_url))
        root.putChild(b"jobs", JobFiles(s, cfg.worker_token))
        site.body_routes.append((b"/jobs/", route_proof_upload(s, cfg.worker_token)))
        root.putChild(b"contemplants", StatusJson(lambda r: with_slot_etas(s.workers_json(), self.estimates),
                                                  cfg.admin_token))
        root.putChild(b"dead-contemplants", StatusJson(lambda r: s.dead_json(), cfg.admin_token))
        root.putChild(b"proof-history", StatusJson(lambda r: s.history_json(history_limit(r)), cfg.admin_token))
        root.putChild(b"metrics", MetricsPage(self.metrics.registry, lambda r: _trusted(r, cfg.admin_token)))
        root.putChild(b"admin", AdminApi(AdminActions(self.requests, s, self.estimates.request), lambda r: _trusted(r, cfg.admin_token)))
        root.putChild(b"requests", RequestStatus(lookup_in(self.requests, s, self.estimates.request)))   # open: the id is the capability

    def _add_dashboard(self, root) -> None:
        s = self.scheduler
        snapshots = Snapshots(self.requests, s.workers, lambda n: list(s.history)[-n:][::-1], self.rates,
                              self.estimates, s.clock)

        def views(key):
            return snapshots.fleet() if key == FLEET else snapshots.request(key)
        self.broadcaster = Broadcaster(views, s.clock)
        root.putChild(b"dashboard", Dashboard(views, self.broadcaster, self.cfg.admin_token))

    def _learn_rate(self, worker_id: str, mode: int, secs: float, cycles: int | None) -> None:
        self.rates.learn(worker_id, mode, secs, cycles, self.scheduler.clock.seconds())

    def upload_url(self, token: str) -> str:
        return f"{self.cfg.public_base}/upload/{token}"

    def proof_uri(self, artifact_id: str) -> str | None:
        artifact = self.artifacts.get(artifact_id)
        if artifact is None or not artifact.download_token:
            return None
        return f"{self.cfg.public_base}/proofs/{artifact.download_token}"

    def startService(self) -> None:
        super().startService()
        self.scheduler.start()
        self.executions.resume()
        self.serving = True
        cfg = self.cfg
        log.info("hierophant serving: gRPC %s:%d, HTTP %s:%d, public_url %s, auth %s",
                 cfg.bind_address, cfg.grpc_port, cfg.bind_address, cfg.http_port, cfg.public_url, cfg.auth.mode)

    def stopService(self):
        self.serving = False
        pool_stopped = self.executions.stop()
        self.scheduler.stop()
        self.requests.stop()
        return defer.gatherResults([pool_stopped, super().stopService()])


def _tls_pair(cfg: HierophantConfig) -> tuple[bytes, bytes] | None:
    if not cfg.tls.cert:
        return None
    return Path(cfg.tls.key).read_bytes(), Path(cfg.tls.cert).read_bytes()


def _web_server(cfg: HierophantConfig, site):
    if cfg.tls.cert:
        pem = Path(cfg.tls.key).read_bytes() + b"\n" + Path(cfg.tls.cert).read_bytes()
        options = ssl.PrivateCertificate.loadPEM(pem).options()
        return SSLServer(cfg.http_port, site, options, interface=cfg.bind_address)
    return TCPServer(cfg.http_port, site, interface=cfg.bind_address)


def make_service(cfg: HierophantConfig) -> Hierophant:
    route_stdlib_logging(cfg.log_level)
    log_startup_warnings(cfg)
    return Hierophant(cfg)
