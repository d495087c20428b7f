"""`GET /requests/0x<64 hex>`: one request's state and why it failed, for the client that made it.

The request id (256 random bits) is the capability, so unlike the other JSON status
endpoints this one answers any client (DESIGN.md "Artifacts"); it shows nothing but that
request. The reason never travels in gRPC tags 34/35 (sdk-network-contract.md §6). The
resource owns nothing: it runs on the reactor and reads through the `lookup` callable it is
given (`lookup_in` builds it from the request book and the scheduler).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

from twisted.web import resource

from hierophant.model import Execution, Fulfillment, ProofRequest
from hierophant.web.util import json_body, text

_ID = re.compile(rb"^(0x)?([0-9a-fA-F]{64})$")
Lookup = Callable[[bytes], Optional[dict]]


class RequestStatus(resource.Resource):
    isLeaf = True

    def __init__(self, lookup: Lookup) -> None:
        super().__init__()
        self.lookup = lookup

    def render_GET(self, request):
        m = _ID.match(request.postpath[0]) if len(request.postpath) == 1 else None
        if m is None:
            return text(request, 400, "the request id must be 0x followed by 64 hex digits: /requests/0x<id>")
        found = self.lookup(bytes.fromhex(m.group(2).decode()))
        if found is None:
            return text(request, 404, "unknown request id (never made here, or deleted by retention)")
        return json_body(request, found)


def lookup_in(book, scheduler, eta: Callable[[ProofRequest], Optional[float]] = lambda r: None) -> Lookup:
    """The lookup over the request book (`get`), the scheduler's live assignments and the
    ETAs (`eta`, hierophant/eta/estimates.py)."""
    def lookup(request_id: bytes) -> Optional[dict]:
        r = book.get(request_id)
        if r is None:
            return None
        worker = scheduler.workers.get(r.worker_id) if r.worker_id else None
        assignment = worker.jobs.get(request_id) if worker is not None else None
        return status_json(r, worker.name if worker is not None else None, assignment, eta(r))
    return lookup


def status_json(r: ProofRequest, worker_name: Optional[str], assignment: Any,
                eta_secs: Optional[float] = None) -> dict:
    """The JSON answer: states by proto name, the failure reason, the running attempt."""
    live = r.fulfillment == Fulfillment.ASSIGNED and assignment is not None
    return {
        "request_id": "0x" + r.request_id.hex(),
        "fulfillment_status": Fulfillment(r.fulfillment).name,
        "execution_status": Execution(r.execution).name,
        "failure_reason": r.failure or None,
        "execute_fail_cause": r.execute_fail_cause or None,
        "phase": assignment.phase if live else _phase(r),
        "progress_percent": assignment.percent if live else (100.0 if r.fulfillment == Fulfillment.FULFILLED else None),
        "worker_name": worker_name if live else None,
        "attempt": r.attempt,
        "attempts_spent": r.attempts,
        "infra_retries_spent": r.infra_retries,
        "cycles": r.cycles,
        "deadline": r.deadline,
        "eta_secs": eta_secs,       # null until the worker has finished a proof of this mode
    }


def _phase(r: ProofRequest) -> str:
    return {Fulfillment.REQUESTED: "queued", Fulfillment.ASSIGNED: "assigned",
            Fulfillment.FULFILLED: "done", Fulfillment.UNFULFILLABLE: "failed"}.get(r.fulfillment, "unknown")
