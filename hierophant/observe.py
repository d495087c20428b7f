"""Connects the hierophant's parts to its metrics (hierophant/metrics.py), on the reactor.

`MetricsService` owns the subscriptions: the state gauges' collector, the request book's
new/terminal listeners (each called once a change committed) and the store's commit-latency
hook (`on_commit`, called on the store's writer thread) are set in startService and undone in
stopService, so one registry can outlive a leader's term (hierophant/leadership.py); its child
`ReactorLagProbe` measures the reactor's lag. `fleet()` builds the state gauges from the
book and the scheduler at scrape time (reactor thread, reads only).
"""
from __future__ import annotations

from collections import Counter

from twisted.application import service

from hierophant.store import Store
from hierophant.metrics import FleetState, HierophantMetrics, ReactorLagProbe
from hierophant.model import Fulfillment, ProofRequest
from hierophant.requests import RequestBook


class MetricsService(service.MultiService):
    def __init__(self, metrics: HierophantMetrics, book: RequestBook, scheduler, store: Store,
                 clock=None) -> None:
        super().__init__()
        if clock is None:
            from twisted.internet import reactor as clock
        self.metrics, self.book, self.scheduler, self.store, self.clock = metrics, book, scheduler, store, clock
        self._collector = None
        ReactorLagProbe(metrics, clock).setServiceParent(self)

    def startService(self) -> None:
        self._collector = self.metrics.watch(self.fleet)
        self.book.on_new.append(self._created)
        self.book.on_terminal.append(self._finished)
        self.store.on_commit = self.metrics.committed
        super().startService()

    def stopService(self):
        self.book.on_new.remove(self._created)
        self.book.on_terminal.remove(self._finished)
        self.store.on_commit = lambda secs: None
        self.metrics.registry.unregister(self._collector)
        return super().stopService()

    def _created(self, r: ProofRequest) -> None:
        self.metrics.requests_received.inc()

    def _finished(self, r: ProofRequest) -> None:
        self.metrics.requests_finished.labels(r.fulfillment.name.lower()).inc()

    def fleet(self) -> FleetState:
        counts: Counter = Counter()
        oldest = deadline = None
        for r in self.book.all():
            counts[r.fulfillment.name.lower()] += 1
            if r.fulfillment == Fulfillment.REQUESTED:
                oldest = r.created_at if oldest is None else min(oldest, r.created_at)
                deadline = r.deadline if deadline is None else min(deadline, r.deadline)
        now = self.clock.seconds()
        connected = [w for w in self.scheduler.workers.values() if w.connected]
        return FleetState(
            requests=counts,
            oldest_queued_age_secs=0.0 if oldest is None else max(0.0, now - oldest),
            queue_next_deadline_secs=None if deadline is None else deadline - now,
            workers_connected=len(connected),
            workers_draining=sum(1 for w in connected if w.draining or w.held),
            slots_busy=sum(len(w.jobs) for w in connected),
            slots_free=sum(max(0, p.slots - p.busy) for w in connected if w.accepting() for p in w.provers),
            dead_workers=len(self.scheduler.dead.all()))
