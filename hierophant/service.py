"""Builds the hierophant: a twistd MultiService of reactor-owned parts (DESIGN.md "Runtime shape").

Start-up reads the whole store before the reactor runs (so the first answer is already
complete), then starts the database thread, the gRPC server and the web site in that order;
stopping runs in reverse, so in-flight RPCs drain before the database closes.
"""
from __future__ import annotations

import logging
from pathlib import Path

from twisted.application import service

from hierophant.artifacts import ArtifactIndex
from hierophant.auth import Auth
from hierophant.blobs import open_blobs
from hierophant.config import HierophantConfig
from hierophant.db import Database
from hierophant.execution import Executions
from hierophant.grpc_server import Bridge, GrpcService
from hierophant.history import History
from hierophant.network_api import NetworkApi
from hierophant.programs import Nonces, Programs
from hierophant.requests import RequestBook
from hierophant.retention import Retention, retention_service
from hierophant.store import Store
from hierophant.uploads import Uploads
from hierophant.web.jobs import JobFiles, StatusJson, history_limit, route_proof_upload
from hierophant.web.site import HierophantSite, build_site
from hierophant.web.worker_socket import WorkerGate
from hierophant.workers.dead import DeadWorkers
from hierophant.workers.intake import ProofIntake, StructureChecker
from hierophant.workers.scheduler import Scheduler
from network_lib.dirlock import lock_dir
from network_lib.listening import ListeningPort, tcp_description
from network_lib.logs import route_stdlib_logging

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
        self.store.stop()


class Hierophant(service.MultiService):
    """The coordinator; its parts are attributes so tests and later features can reach them."""

    def __init__(self, cfg: HierophantConfig, reactor=None) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.cfg = cfg
        self.serving = False
        data = Path(cfg.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self._lock = lock_dir(data, "data_dir", "hierophant")
        self.store = self.db = open_store(cfg, data, reactor)
        snap = self.store.load()
        files = open_blobs(cfg, data)
        dropped = files.clear_temp()
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
                               reactor)
        self.scheduler = Scheduler(cfg.scheduler, self.requests, self.artifacts, self.programs, cfg.public_base,
                                   execution_enabled=cfg.execution.enabled, history=self.history, dead=self.dead,
                                   clock=reactor)
        # The proof check is pluggable: a verifier with the same `check` replaces this one.
        self.checker = StructureChecker(reactor)
        self.intake = ProofIntake(self.scheduler, self.artifacts, self.checker, reactor)
        self.executions = Executions(cfg.execution, self.requests, self.artifacts, self.scheduler.executed)
        self.retention = Retention(self.requests, self.artifacts, self.programs,
                                   cfg.retention.proof_days, cfg.retention.input_days, self.history)
        log.info("loaded %s: %d programs, %d artifacts, %d requests (%d live)%s", _where(cfg, data),
                 len(snap.programs), len(snap.artifacts), len(snap.requests),
                 len(self.requests.live()), f"; dropped {dropped} partial uploads" if dropped else "")
        self._build_children()

    def _build_children(self) -> None:
        cfg = self.cfg
        DatabaseService(self.store).setServiceParent(self)
        self.scheduler.setServiceParent(self)
        bridge = Bridge(self.api, self.auth, self.requests, self.reactor)
        GrpcService(bridge, cfg.bind_address, cfg.grpc_port, cfg.grpc_threads, _tls_pair(cfg)).setServiceParent(self)
        self.site = build_site(self.uploads, self.artifacts, lambda: self.serving, self.reactor)
        self._add_worker_endpoints(self.site)
        tls = (cfg.tls.key, cfg.tls.cert) if cfg.tls.cert else None
        self.web = ListeningPort("hierophant", "http_port", f"{cfg.bind_address}:{cfg.http_port}",
                                 tcp_description(cfg.http_port, cfg.bind_address, tls), self.site, self.reactor)
        self.web.setServiceParent(self)
        retention_service(self.retention, cfg.retention.sweep_interval_secs).setServiceParent(self)

    def _add_worker_endpoints(self, site: HierophantSite) -> None:
        cfg, s = self.cfg, self.scheduler
        ws_url = cfg.public_base.replace("https://", "wss://").replace("http://", "ws://") + "/ws"
        site.route(b"ws", WorkerGate(s, cfg.worker_token, ws_url))
        site.route(b"jobs", JobFiles(s, self.intake, cfg.worker_token),
                   body=route_proof_upload(self.intake, cfg.worker_token))
        site.route(b"contemplants", StatusJson(lambda r: s.workers_json(), cfg.admin_token))
        site.route(b"dead-contemplants", StatusJson(lambda r: s.dead_json(), cfg.admin_token))
        site.route(b"proof-history", StatusJson(lambda r: s.history_json(history_limit(r)), cfg.admin_token))

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
        self.executions.stop()
        self.requests.stop()
        return super().stopService()


def open_store(cfg: HierophantConfig, data: Path, reactor) -> Store:
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


def _tls_pair(cfg: HierophantConfig) -> tuple[bytes, bytes] | None:
    if not cfg.tls.cert:
        return None
    return Path(cfg.tls.key).read_bytes(), Path(cfg.tls.cert).read_bytes()


def make_service(cfg: HierophantConfig) -> Hierophant:
    route_stdlib_logging(cfg.log_level)
    return Hierophant(cfg)
