"""The JSON views of the worker side (/contemplants, /dead-contemplants, /proof-history).

Read-only projections of committed records and the registry's live state; on the reactor.
"""
from __future__ import annotations

from typing import Any

from hierophant.history import History
from hierophant.model import rid_hex
from hierophant.requests import RequestBook
from hierophant.workers.dead import DeadWorkers
from hierophant.workers.registry import Registry
from network_lib import versions


def workers_json(registry: Registry, now: float) -> list[dict[str, Any]]:
    return [w.to_json(now) for w in registry.workers.values()]


def dead_json(dead: DeadWorkers) -> list[dict[str, Any]]:
    return [{"worker_id": d.worker_id, "name": d.name, "address": d.address, "strikes": d.strikes,
             "reason": d.reason, "died_at": d.died_at, "num_completed_proofs": d.completed}
            for d in dead.all()]


def history_json(history: History, book: RequestBook, limit: int = 100) -> list[dict[str, Any]]:
    out = []
    for h in history.recent(limit):
        r = book.get(h.request_id)
        out.append({
            "cycles": r.cycles if r else None,
            "public_values_hash": "0x" + r.public_values_hash.hex() if r and r.public_values_hash else None,
            "proof_request_id": rid_hex(h.request_id), "attempt": h.attempt,
            "proof_mode": versions.ProofMode(h.mode).name, "circuit_version": h.circuit_version,
            "worker_id": h.worker_id, "worker_name": h.worker_name, "outcome": h.outcome,
            "detail": h.detail, "checked": h.checked or None, "started_at": h.started_at,
            "finished_at": h.finished_at, "minutes_to_complete": round((h.finished_at - h.started_at) / 60, 3)})
    return out
