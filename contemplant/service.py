"""Builds the contemplant: a twistd MultiService (DESIGN.md "Runtime shape": Contemplant).

It owns the backends, the job table and the connection, and answers `GET /health` and
`GET /metrics` (contemplant/metrics.py).
Stopping (SIGTERM, Ctrl-C, `twistd` stop) is graceful and bounded: `draining` is sent, no
new jobs are taken, running jobs may finish and upload for `drain_timeout_secs` (and no
longer than their deadlines); what is still running then is cancelled and handed back
(`failed` kind `released`), the socket closes and the process exits 0. A fatal close (4002,
4004, HTTP 401) cancels the jobs and exits with the status in `contemplant.exits`.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

from twisted.application import service
from twisted.internet import defer

from contemplant import backends as backends_mod
from contemplant import exits, hardware
from contemplant.config import ContemplantConfig
from contemplant.connection import Connection
from contemplant.health import build_site
from contemplant.jobs import Jobs
from contemplant.metrics import ContemplantMetrics
from contemplant.state import StateDir
from contemplant.transfer import Backoff
from network_lib import worker_protocol as wp
from network_lib.listening import ListeningPort, tcp_description
from network_lib.logs import route_stdlib_logging

log = logging.getLogger("contemplant")

PROTOCOL_VERSION_ENV = "CONTEMPLANT_PROTOCOL_VERSION"   # for tests only (see make_service)


def software_version() -> str:
    try:
        return f"contemplant {metadata.version('hierophant')}"
    except metadata.PackageNotFoundError:
        return "contemplant (unknown version)"


class Contemplant(service.MultiService):
    """The worker; `backends`, `clock`, `stop_reactor` and the back-offs are for tests."""

    def __init__(self, cfg: ContemplantConfig, backends: Optional[list] = None, clock=None,
                 stop_reactor: Optional[Callable[[], None]] = None,
                 protocol_version: str = wp.PROTOCOL_VERSION,
                 reconnect_backoff: tuple[float, float] = (0.5, 30.0),
                 http_backoff: tuple[float, float] = (1.0, 30.0)) -> None:
        super().__init__()
        if clock is None:
            from twisted.internet import reactor as clock
        self.state = StateDir(Path(cfg.state_dir))
        cfg = dataclasses.replace(cfg, name=self.state.name(cfg.name))
        self.cfg, self.clock = cfg, clock
        self.protocol_version = protocol_version
        self.backends = backends if backends is not None else [
            backends_mod.build(p, i) for i, p in enumerate(cfg.provers)]
        self.worker_id = self.state.worker_id
        self.software = software_version()
        self.draining = False
        self.exit_code = exits.EXIT_OK
        self._stop_reactor = stop_reactor or self._reactor_stop
        self.metrics = ContemplantMetrics()
        self.jobs = Jobs(self.backends, self.state.jobs_dir, cfg.worker_token, self._send,
                         clock, http_backoff, metrics=self.metrics)
        self.metrics.watch(self.health, hardware.GPUS)
        self.connection = Connection(cfg.hierophant_ws_address, cfg.worker_token, self, clock,
                                     Backoff(*reconnect_backoff), self.software, protocol_version)
        # GET /health on http_port; bound at privileged start-up, a port in use exits 2.
        self.health_port = ListeningPort("contemplant", "http_port", f"0.0.0.0:{cfg.http_port}",
                                         tcp_description(cfg.http_port),
                                         build_site(self.health, self.metrics.registry),
                                         clock if hasattr(clock, "listenTCP") else None)
        self.health_port.setServiceParent(self)

    # -- lifecycle ----------------------------------------------------------------------------
    @defer.inlineCallbacks
    def startService(self):
        super().startService()
        self.state.write_pid()
        log.info("contemplant %s (worker_id %s) starting: %d slots on %s; /health on port %d",
                 self.cfg.name, self.worker_id, self.jobs.slots,
                 ", ".join(b.capabilities.backend for b in self.backends),
                 self.health_port.getHost().port)
        try:
            yield defer.gatherResults([b.start() for b in self.backends], consumeErrors=True)
        except Exception as e:  # noqa: BLE001
            self.fatal(exits.EXIT_FATAL, f"a prover backend failed to start: {e}")
            return
        if self.running and self.exit_code == exits.EXIT_OK:
            self.connection.start()

    @defer.inlineCallbacks
    def stopService(self):
        if self.exit_code != exits.EXIT_OK:
            self.jobs.cancel_all("the contemplant is exiting")
        else:
            yield self._drain()
        yield self.jobs.wait_all()
        yield self.connection.stop()
        yield defer.gatherResults([defer.maybeDeferred(b.stop) for b in self.backends],
                                  consumeErrors=True).addErrback(
            lambda f: log.error("stopping a backend failed\n%s", f.getTraceback()))
        self.state.release()
        yield super().stopService()
        log.info("contemplant stopped%s",
                 f" (exit status {self.exit_code})" if self.exit_code else "")

    @defer.inlineCallbacks
    def _drain(self):
        """Graceful stop: take no new jobs, let running ones finish for `drain_timeout_secs`
        (at most until their deadlines), then hand them back."""
        self.start_draining("the contemplant is stopping")
        if not self.jobs.table:
            return
        deadline = max(a.job.deadline for a in self.jobs.table.values())
        wait = max(0.0, min(self.cfg.drain_timeout_secs, deadline - time.time()))
        log.info("waiting up to %.0f s (drain_timeout_secs) for %d running job(s) to finish and "
                 "upload: %s", wait, len(self.jobs.table),
                 ", ".join(a.label for a in self.jobs.table.values()))
        done = self.jobs.wait_all()
        timer = self.clock.callLater(wait, self.jobs.release_all,
                                     f"the contemplant is stopping (drain_timeout_secs={wait:g} passed)")
        yield done
        if timer.active():
            timer.cancel()

    def start_draining(self, why: str) -> None:
        if not self.draining:
            log.info("draining (%s): taking no new jobs", why)
        self.draining = self.jobs.draining = True
        self._send(wp.Draining())

    def fatal(self, code: int, message: str) -> None:
        """Log why, record the exit status and stop the reactor (twistd then exits with it)."""
        log.error("exiting with status %d because %s", code, message)
        self.exit_code = code
        exits.set_status(code)
        self._stop_reactor()

    @staticmethod
    def _reactor_stop() -> None:
        from twisted.internet import reactor
        if reactor.running:
            reactor.stop()
        else:
            reactor.callWhenRunning(reactor.stop)

    # -- the connection's callbacks (connection.Worker) -------------------------------------
    def register_message(self) -> wp.Register:
        return wp.Register(protocol=self.protocol_version, worker_id=self.worker_id,
                           name=self.cfg.name, software=self.software,
                           capabilities=self.capabilities(), hardware=hardware.snapshot(),
                           jobs=self.jobs.refs(), draining=self.draining)

    def heartbeat_message(self) -> wp.Heartbeat:
        return wp.Heartbeat(jobs=self.jobs.refs(), hardware=hardware.snapshot())

    def on_registered(self, msg: wp.Registered) -> None:
        log.info("registered as %s (worker_id %s, hierophant protocol %s); heartbeat every %s s%s",
                 self.cfg.name, self.worker_id, msg.protocol, msg.heartbeat_interval_secs,
                 f"; resuming {len(msg.resume)} job(s)" if msg.resume else "")
        for ref in msg.cancel:
            self.jobs.cancel(ref.get("request_id", ""), ref.get("attempt", -1), "cancelled at re-registration")
        resumed = {(r.get("request_id"), r.get("attempt")) for r in msg.resume}
        cancelled = {(r.get("request_id"), r.get("attempt")) for r in msg.cancel}
        for key in set(self.jobs.table) - resumed - cancelled:
            log.warning("job %s#%s was not named in registered.resume; keeping it (its upload "
                        "will tell whether it is still wanted)", *key)
        self.jobs.flush_reports()

    def on_message(self, msg: wp.Message) -> None:
        if isinstance(msg, wp.Job):
            self.jobs.accept(msg)
        elif isinstance(msg, wp.Cancel):
            self.jobs.cancel(msg.request_id, msg.attempt, msg.reason)
        elif isinstance(msg, wp.JobUpdate):
            self.jobs.update(msg.request_id, msg.attempt, msg.total_cycles)
        elif isinstance(msg, wp.Drain):
            self.start_draining(f"the hierophant asked: {msg.reason}" if msg.reason else "the hierophant asked")
        else:
            log.warning("ignoring unexpected %s message", msg.TYPE)

    def on_disconnected(self) -> None:
        if self.jobs.table:
            log.info("disconnected with %d job(s) running; they keep running",
                     len(self.jobs.table))

    # -- helpers ------------------------------------------------------------------------------
    def _send(self, msg: wp.Message) -> bool:
        return self.connection.send(msg)

    def capabilities(self) -> dict:
        """Flat fields (protocol 1.0) and, per prover in `[[provers]]` order, its own (1.1)."""
        caps = [b.capabilities for b in self.backends]
        return {"backends": sorted({c.backend for c in caps}),
                "modes": sorted({m for c in caps for m in c.modes}),
                "circuit_versions": sorted({v for c in caps for v in c.circuit_versions}),
                "slots": sum(c.slots for c in caps),
                "provers": [{"backend": c.backend, "modes": sorted(c.modes),
                             "circuit_versions": sorted(c.circuit_versions), "slots": c.slots} for c in caps]}

    def health(self) -> dict:
        return {"healthy": self.connection.registered, "worker_id": self.worker_id,
                "name": self.cfg.name, "connected": self.connection.connected,
                "draining": self.draining, "slots": self.jobs.slots, "busy_slots": self.jobs.busy_slots,
                "jobs": self.jobs.summary()}


def make_service(cfg: ContemplantConfig, environ: Optional[dict] = None) -> Contemplant:
    """The twistd service. `CONTEMPLANT_PROTOCOL_VERSION` (environment only, for tests)
    overrides the protocol version sent in `register`, so a MAJOR mismatch can be tested."""
    import os
    environ = os.environ if environ is None else environ
    route_stdlib_logging("info")
    version = environ.get(PROTOCOL_VERSION_ENV) or wp.PROTOCOL_VERSION
    if version != wp.PROTOCOL_VERSION:
        log.warning("%s=%s: announcing protocol %s instead of %s (a test hook)",
                    PROTOCOL_VERSION_ENV, version, version, wp.PROTOCOL_VERSION)
    return Contemplant(cfg, protocol_version=version)
