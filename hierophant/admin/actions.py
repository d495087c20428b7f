"""What an operator can do to requests and workers, on the reactor (issue 11).

Each action checks that it makes sense now (a finished request cannot be cancelled, only an
ASSIGNED one can be requeued), then calls the scheduler's public methods, which own the
state. Lookups take what a person types: a request id as hex (with or without 0x), a worker
as its worker_id or a name unique among connected workers. Problems raise `AdminError` with
the HTTP status the API answers with and a one-line message naming the problem.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from twisted.internet import defer

from hierophant.model import Fulfillment, ProofRequest, parse_rid, rid_hex
from hierophant.requests import RequestBook
from hierophant.workers.registry import Worker

CANCEL_REASON = "cancelled by an operator"
STATUSES = ("requested", "assigned", "fulfilled", "unfulfillable")


class AdminError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Done:
    """What an action did, for the answer and the log."""
    action: str
    target: str
    detail: str


def parse_request_id(text: str) -> bytes:
    """32 bytes from hex (0x optional); AdminError 400 naming the input otherwise."""
    value = parse_rid(text)
    if value is None:
        raise AdminError(400, f"malformed request id {text!r}: expected 0x and 64 hex digits")
    return value


class AdminActions:
    """Lookups and actions over the request book and the scheduler (reactor thread)."""

    def __init__(self, book: RequestBook, scheduler,
                 eta: Callable[[ProofRequest], float | None] = lambda r: None) -> None:
        self.book, self.scheduler = book, scheduler
        self.eta = eta                  # seconds until proven (hierophant/eta/estimates.py)

    # -- lookups ------------------------------------------------------------------------------
    def request(self, text: str) -> ProofRequest:
        rid = parse_request_id(text)
        r = self.book.get(rid)
        if r is None:
            raise AdminError(404, f"unknown request {rid_hex(rid)}")
        return r

    def requests(self, status: str | None, limit: int) -> list[ProofRequest]:
        if status is not None and status.lower() not in STATUSES:
            raise AdminError(400, f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        want = Fulfillment[status.upper()] if status else None
        found = [r for r in self.book.all() if want is None or r.fulfillment == want]
        found.sort(key=lambda r: (r.created_at, r.request_id), reverse=True)
        return found[:limit]

    def worker(self, text: str) -> Worker:
        """By worker_id, else by a name unique among connected workers."""
        workers = self.scheduler.workers
        if text in workers:
            return workers[text]
        named = [w for w in workers.values() if w.connected and w.name == text]
        if len(named) == 1:
            return named[0]
        if named:
            ids = ", ".join(sorted(w.worker_id for w in named))
            raise AdminError(409, f"{len(named)} connected workers are named {text!r}; give a worker_id ({ids})")
        raise AdminError(404, f"unknown worker {text!r}: no worker_id or connected worker name matches")

    # -- actions --------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def cancel(self, text: str):
        r = self.request(text)
        if r.terminal:
            raise AdminError(409, f"request {rid_hex(r.request_id)} already ended ({r.fulfillment.name})")
        was = r.fulfillment.name
        yield self.scheduler.cancel(r.request_id, CANCEL_REASON)
        return Done("cancel", rid_hex(r.request_id), f"was {was}; now UNFULFILLABLE ({CANCEL_REASON})")

    @defer.inlineCallbacks
    def requeue(self, text: str):
        r = self.request(text)
        if r.fulfillment != Fulfillment.ASSIGNED:
            raise AdminError(409, f"request {rid_hex(r.request_id)} is {r.fulfillment.name}, "
                                  "not ASSIGNED: nothing to requeue")
        worker = self.scheduler.workers.get(r.worker_id or "")
        name = worker.name if worker else r.worker_id
        yield self.scheduler.requeue(r.request_id, f"requeued by an operator from {name}")
        return Done("requeue", rid_hex(r.request_id), f"attempt {r.attempt} taken back from {name}; no attempt spent")

    def drain(self, text: str, on: bool = True) -> Done:
        w = self.worker(text)
        self.scheduler.set_draining(w.worker_id, on)
        busy = len(w.jobs)
        return Done("drain" if on else "undrain", _who(w),
                    f"takes no new jobs; {busy} running job(s) finish" if on else "takes jobs again")

    @defer.inlineCallbacks
    def kick(self, text: str):
        w = self.worker(text)
        jobs = len(w.jobs)
        yield self.scheduler.kick(w.worker_id)         # answered once the requeues are committed
        return Done("kick", _who(w), f"disconnected; {jobs} job(s) back in the queue, no attempt spent")


def _who(w: Worker) -> str:
    return f"{w.name} ({w.worker_id})"
