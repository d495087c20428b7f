"""ETAs of the live requests, read from the request book, the worker registry and the rate
fits (issue 12). On the reactor; reads only. The arithmetic is `hierophant.eta.forecast`'s.

Every answer is seconds from now, or None where it cannot be told yet (the worker has not
finished a proof of that mode). The queue play is computed at most once per `reuse_secs`
(status polls of many clients share it).
"""
from __future__ import annotations

from typing import Any

from hierophant.eta.fit import predict
from hierophant.eta.forecast import Server, Waiting, queue_etas, running_eta
from hierophant.eta.rates import Rates
from hierophant.model import Fulfillment, ProofRequest


class Estimates:
    def __init__(self, book, workers: dict, rates: Rates, clock, reuse_secs: float = 0.5) -> None:
        self.book, self.workers, self.rates, self.clock = book, workers, rates, clock
        self.reuse_secs = reuse_secs
        self._played: tuple[float, dict[bytes, float | None]] | None = None

    def running(self, worker, assignment: Any) -> float | None:
        """Seconds left of the attempt `assignment` on `worker`."""
        r = self.book.get(assignment.request_id)
        cycles = r.cycles if r is not None and r.cycles is not None else assignment.cycles
        total = predict(self.rates.get(worker.worker_id, assignment.mode), cycles)
        return running_eta(total, self.clock.seconds() - assignment.started, assignment.percent)

    def queued(self) -> dict[bytes, float | None]:
        """Request id -> seconds until proven, for every queued request."""
        now = self.clock.seconds()
        if self._played is not None and now - self._played[0] < self.reuse_secs:
            return self._played[1]
        waiting = sorted((r for r in self.book.live() if r.fulfillment == Fulfillment.REQUESTED),
                         key=lambda r: (r.deadline, r.created_at))
        etas = queue_etas([Waiting(r.request_id, r.mode, r.circuit_version, r.cycles) for r in waiting],
                          [self._server(w, p) for w in self.workers.values() if w.accepting() for p in w.provers])
        self._played = (now, etas)
        return etas

    def request(self, r: ProofRequest) -> float | None:
        """Seconds until `r` is proven: running, queued, or None (ended, or unknown)."""
        if r.fulfillment == Fulfillment.REQUESTED:
            return self.queued().get(r.request_id)
        if r.fulfillment == Fulfillment.ASSIGNED and r.worker_id:
            w = self.workers.get(r.worker_id)
            a = w.jobs.get(r.request_id) if w is not None else None
            return self.running(w, a) if a is not None else None
        return None

    def _server(self, w, prover) -> Server:
        """One prover of a worker (its own slots and capabilities; the worker's rates)."""
        busy = [self.running(w, a) for a in w.jobs.values() if a.prover == prover.index]
        free = [0.0] * max(0, prover.slots - len(busy))
        return Server(w.worker_id, prover.keys(), self.rates.of(w.worker_id), tuple(busy + free))


def with_slot_etas(listed: list[dict], estimates: Estimates) -> list[dict]:
    """`GET /contemplants` rows with `eta_secs` on every slot: seconds left of its proof,
    null when free or while that worker has no finished proof of the mode."""
    for row in listed:
        w = estimates.workers.get(row["worker_id"])
        for slot in row["slots"]:
            rid = slot.get("request_id")
            a = w.jobs.get(bytes.fromhex(rid[2:])) if w is not None and rid else None
            slot["eta_secs"] = estimates.running(w, a) if a is not None else None
    return listed
