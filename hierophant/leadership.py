"""One leader among hierophants that share a PostgreSQL store (DESIGN.md "leadership").

With `[store] url` set, `twistd hierophant` builds a `Member`: it binds the gRPC and HTTP
ports at once, but answers as a standby (`/healthz` 503 "standby", RPCs UNAVAILABLE, worker
sockets refused with 503: hierophant/web/standby.py) until `Leadership` wins the lease
(hierophant/lease.py). Then, on a thread, it opens a store fenced with the lease's epoch
and reads every record; back on the reactor it builds the coordinator
(`hierophant.service.Hierophant` without ports: scheduler, timers, execution, retention),
starts it and points the ports at it. Assigned jobs wait `reattach_grace_secs` for their
workers to reconnect, as after a restart, so no proof runs twice.

A leader that finds it lost its lease (its renewal found another epoch, no renewal succeeded
before its lease ran out by its own monotonic clock, e.g. after a long pause, or its store
was fenced) stops leading at once, in this process: the ports answer as a standby again,
worker sockets close with 4007 so contemplants move to the next address, and the
coordinator's services stop (timers, execution, the store's writer, whose remaining writes
the fence refuses). The process then stands by and may lead again later with a fresh
coordinator built from the store; nothing of the old term is reused. Everything here runs
on the reactor; the lease's SQL runs on a single thread of its own.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from grpc_health.v1 import health_pb2
from twisted.application import service
from twisted.internet import defer, threads
from twisted.python.threadpool import ThreadPool

from hierophant.blobs import open_blobs
from hierophant.config import HierophantConfig
from hierophant.grpc_server import ARTIFACT, NETWORK, GrpcService, Switch
from hierophant.metrics import HierophantMetrics
from hierophant.lease import Lease, LeaseTiming, new_holder_id
from hierophant.pgstore import PgStore
from hierophant.service import Hierophant, open_state, tls_pair, web_port
from hierophant.web.standby import MemberSite
from network_lib import worker_protocol as wp
from network_lib.dirlock import lock_dir

log = logging.getLogger("hierophant.leadership")


class Leadership(service.Service):
    """Wins, keeps and loses the lease; tells `elected(epoch)` (a Deferred: the term is ready)
    and `deposed(reason)`. Standby: tries every poll_secs. Leader: renews every renew_secs and
    steps down when no renewal succeeded within lease_secs of when it was sent."""

    def __init__(self, lease: Lease, timing: LeaseTiming, elected: Callable[[int], defer.Deferred],
                 deposed: Callable[[str], None], clock=None, monotonic: Callable[[], float] = time.monotonic) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.lease, self.timing, self.clock, self.monotonic = lease, timing, clock, monotonic
        self.elected, self.deposed = elected, deposed
        self.epoch: int | None = None
        self._pool = ThreadPool(1, 1, name="lease")
        self._next = None
        self._expiry = None
        self._busy = False

    @property
    def leading(self) -> bool:
        return self.epoch is not None

    def startService(self) -> None:
        super().startService()
        self._pool.start()
        self._schedule(0)

    def stopService(self):
        """Stop trying; the Member releases the lease (release()) after its term stopped."""
        super().stopService()
        self._cancel()
        return None

    def release(self) -> defer.Deferred:
        """Give the lease up now (after the term's writes are done), then stop the lease thread."""
        epoch, self.epoch = self.epoch, None
        self._cancel()

        def give_up():
            try:
                if epoch is not None:
                    self.lease.release(epoch)
            finally:
                self.lease.close()
        d = threads.deferToThreadPool(self.clock, self._pool, give_up)
        d.addErrback(lambda f: log.warning("could not release the lease: %s", f.getErrorMessage()))
        d.addBoth(lambda _: self._pool.stop())
        return d

    def lost(self, reason: str) -> None:
        """Stop leading now (a renewal failed, the lease ran out, or a write was fenced)."""
        if self.epoch is None:
            return
        log.error("lost the leadership (epoch %d): %s; standing by", self.epoch, reason)
        self.epoch = None
        if self._expiry is not None and self._expiry.active():
            self._expiry.cancel()
        self.deposed(reason)
        if self.running:
            self._schedule(self.timing.poll_secs)

    # -- the loop -------------------------------------------------------------------------------
    def _schedule(self, delay: float) -> None:
        if self._next is not None and self._next.active():
            self._next.cancel()
        self._next = self.clock.callLater(delay, self._tick)

    def _cancel(self) -> None:
        for call in (self._next, self._expiry):
            if call is not None and call.active():
                call.cancel()

    def _tick(self) -> None:
        if not self.running or self._busy:
            return
        self._busy = True
        d = self._renew() if self.leading else self._try()
        d.addErrback(lambda f: log.warning("lease: %s", f.getErrorMessage()))
        d.addBoth(self._ticked)

    def _ticked(self, _) -> None:
        self._busy = False
        if self.running:
            self._schedule(self.timing.renew_secs if self.leading else self.timing.poll_secs)

    def _in_thread(self, fn, *args) -> defer.Deferred:
        return threads.deferToThreadPool(self.clock, self._pool, fn, *args)

    @defer.inlineCallbacks
    def _try(self):
        sent = self.monotonic()
        epoch = yield self._in_thread(self.lease.acquire)
        if epoch is None:
            return
        if not self.running:                      # stopped meanwhile: give it straight back
            yield self._in_thread(self.lease.release, epoch)
            return
        self.epoch = epoch
        self._arm_expiry(sent)
        log.info("won the leadership (epoch %d, holder %s); taking over", epoch, self.lease.holder)
        # Renewals go on while the term is built (reading a big store takes a while).
        d = defer.maybeDeferred(self.elected, epoch)
        d.addErrback(self._takeover_failed, epoch)

    def _takeover_failed(self, failure, epoch: int) -> None:
        log.error("could not take over (epoch %d): %s", epoch, failure.getTraceback())
        if self.epoch == epoch:
            self.lost(f"taking over failed: {failure.getErrorMessage()}")
            self._in_thread(self.lease.release, epoch).addErrback(
                lambda f: log.warning("could not release the lease: %s", f.getErrorMessage()))

    @defer.inlineCallbacks
    def _renew(self):
        epoch, sent = self.epoch, self.monotonic()
        ok = yield self._in_thread(self.lease.renew, epoch)
        if self.epoch != epoch:
            return
        if ok:
            self._arm_expiry(sent)
        else:
            self.lost("the lease expired or another hierophant took it over")

    def _arm_expiry(self, sent: float) -> None:
        """Lead no longer than the lease the database granted: it began after `sent`."""
        if self._expiry is not None and self._expiry.active():
            self._expiry.cancel()
        left = sent + self.timing.lease_secs - self.monotonic()
        self._expiry = self.clock.callLater(max(0.0, left), self._expired)

    def _expired(self) -> None:
        self.lost(f"no renewal succeeded within the lease ({self.timing.lease_secs:g} s)")


class Member(service.MultiService):
    """A hierophant on a shared PostgreSQL store: the ports always, the coordinator while it
    leads. `term` is the current coordinator (None while standing by)."""

    def __init__(self, cfg: HierophantConfig, reactor=None) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.cfg = cfg
        data = Path(cfg.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self._lock = lock_dir(data, "data_dir", "hierophant")
        # Reachable, schema migrated, bucket there: else exit now, saying why (StoreUnavailable).
        # A standby never touches the artifacts: clear_temp waits for its term as leader.
        PgStore(cfg.store.url).stop()
        open_blobs(cfg, data)
        self.term: Hierophant | None = None
        self.switch = Switch()
        self.metrics = HierophantMetrics()         # one registry for the process, across terms
        self.grpc = GrpcService(self.switch, cfg.bind_address, cfg.grpc_port, cfg.grpc_threads, tls_pair(cfg),
                                self.metrics)
        self.grpc.setServiceParent(self)
        self.site = MemberSite(reactor)
        self.web = web_port(cfg, self.site, reactor)
        self.web.setServiceParent(self)
        timing = LeaseTiming.for_takeover(cfg.ha.takeover_secs)
        self.leadership = Leadership(Lease(cfg.store.url, new_holder_id(), timing.lease_secs), timing,
                                     self._elected, self._deposed, clock=reactor)
        self.leadership.setServiceParent(self)

    def startService(self) -> None:
        super().startService()
        self._set_health(False)
        cfg = self.cfg
        log.info("hierophant standing by (takeover_secs %g): gRPC %s:%d, HTTP %s:%d, store %s",
                 cfg.ha.takeover_secs, cfg.bind_address, cfg.grpc_port, cfg.bind_address, cfg.http_port,
                 self.leadership.lease.where)

    @defer.inlineCallbacks
    def stopService(self):
        yield self.leadership.stopService()
        yield self._end_term()
        yield self.leadership.release()
        yield super().stopService()

    # -- terms ----------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def _elected(self, epoch: int):
        cfg = self.cfg
        store_url = cfg.store.url

        def open_term():
            store = PgStore(store_url, self.reactor, epoch=epoch,
                            on_fenced=lambda: self.leadership.lost("a write was fenced"))
            return open_state(cfg, Path(cfg.data_dir), store)
        opened = yield threads.deferToThread(open_term)
        if self.leadership.epoch != epoch or not self.running:      # lost or stopped while reading
            yield threads.deferToThread(opened.store.stop)
            return
        term = Hierophant(cfg, opened, listen=False, reactor=self.reactor, metrics=self.metrics)
        term.setServiceParent(self)                  # starts it: scheduler, timers, execution
        self.term = term
        self.switch.bridge = term.bridge
        self.site.lead(term.site)
        self._set_health(True)
        log.info("leading (epoch %d): %d requests (%d live), serving", epoch,
                 len(opened.snapshot.requests), len(term.requests.live()))

    def _deposed(self, reason: str) -> None:
        self._end_term().addErrback(
            lambda f: log.error("stopping the coordinator after losing the lease: %s", f.getTraceback()))

    def _end_term(self) -> defer.Deferred:
        """Answer as a standby at once; close worker sockets; stop the coordinator's services."""
        term, self.term = self.term, None
        self.switch.bridge = None
        self.site.standby()
        self._set_health(False)
        if term is None:
            return defer.succeed(None)
        for w in list(term.scheduler.workers.values()):
            if w.conn is not None:
                w.conn.close(wp.CLOSE_NOT_LEADER, "this hierophant no longer leads; try the next address")
        return defer.maybeDeferred(term.disownServiceParent)

    def _set_health(self, serving: bool) -> None:
        """gRPC health answers as /healthz does: SERVING only while leading."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        if self.grpc.server is not None:
            for name in ("", NETWORK, ARTIFACT):
                self.grpc.health.set(name, status)
