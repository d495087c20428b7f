"""JSON views of requests for the admin API (reactor thread; reads only)."""
from __future__ import annotations

from typing import Any, Callable

from hierophant.model import ProofRequest, rid_hex
from network_lib import versions


def mode_name(mode: int) -> str:
    try:
        return versions.ProofMode(mode).name
    except ValueError:
        return str(mode)


def request_json(r: ProofRequest, scheduler, now: float,
                 eta: Callable[[ProofRequest], float | None] = lambda r: None) -> dict[str, Any]:
    """One request as an operator sees it, with its running attempt's progress."""
    w = scheduler.workers.get(r.worker_id) if r.worker_id else None
    a = w.jobs.get(r.request_id) if w is not None else None
    return {
        "request_id": rid_hex(r.request_id),
        "fulfillment": r.fulfillment.name, "execution": r.execution.name,
        "proof_mode": mode_name(r.mode), "circuit_version": r.circuit_version,
        "requester": "0x" + r.requester.hex(),
        "created_at": r.created_at, "updated_at": r.updated_at, "deadline": r.deadline,
        "age_secs": round(max(0.0, now - r.created_at), 1),
        "attempt": r.attempt, "attempts_failed": r.attempts, "infra_retries": r.infra_retries,
        "worker_id": r.worker_id, "worker_name": w.name if w is not None else None,
        "phase": a.phase if a is not None else None,
        "progress": a.percent if a is not None else None,
        "cycles": r.cycles, "failure": r.failure or None, "fulfilled_at": r.fulfilled_at,
        "eta_secs": eta(r),
    }
