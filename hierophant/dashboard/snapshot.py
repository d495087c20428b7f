"""What the dashboard shows, as JSON: the fleet at a glance, and one request's story.

Read-only projections of the request book, the worker registry, the proof history and the
ETAs, built on the reactor (one pass over live state; bounded lists). The browser renders
them as they are (hierophant/dashboard/static/dashboard.js), so every field a person sees
is here, named as in the other JSON endpoints where one exists.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from hierophant.eta.estimates import Estimates
from hierophant.eta.fit import line
from hierophant.eta.rates import Rates
from hierophant.model import Execution, Fulfillment, ProofRecord, ProofRequest
from network_lib import versions

QUEUE_SHOWN = 200
HISTORY_SHOWN = 50
FAILURES_SHOWN = 30
FAILURES_REUSE_SECS = 5.0     # the failed requests are found by a scan of the whole book


def mode_name(mode: int) -> str:
    try:
        return versions.ProofMode(mode).name
    except ValueError:
        return str(mode)


def _rid(request_id: bytes) -> str:
    return "0x" + request_id.hex()


class Snapshots:
    """Builds the two views. `history(limit)` answers the newest proof records, newest first."""

    def __init__(self, book, workers: dict, history: Callable[[int], list[ProofRecord]], rates: Rates,
                 estimates: Estimates, clock) -> None:
        self.book, self.workers, self.history = book, workers, history
        self.rates, self.estimates, self.clock = rates, estimates, clock
        self._failures: tuple[float, list[dict[str, Any]]] = (float("-inf"), [])

    # -- the fleet ----------------------------------------------------------------------------
    def fleet(self) -> dict[str, Any]:
        now = self.clock.seconds()
        live = self.book.live()
        queued = sorted((r for r in live if r.fulfillment == Fulfillment.REQUESTED),
                        key=lambda r: (r.deadline, r.created_at))
        etas = self.estimates.queued()
        workers = sorted(self.workers.values(), key=lambda w: (not w.connected, w.name, w.worker_id))
        running = [self._running(w, a, now) for w in workers for a in w.jobs.values()]
        slots = sum(w.slots for w in workers if w.connected)
        return {
            "now": now,
            "counts": {"queued": len(queued), "running": len(running), "workers": len(workers),
                       "connected": sum(1 for w in workers if w.connected), "slots": slots,
                       "gpus": sum(len(w.hardware.get("gpus") or ()) for w in workers if w.connected)},
            "queue": [self._queued(r, i, etas.get(r.request_id), now) for i, r in enumerate(queued[:QUEUE_SHOWN])],
            "running": sorted(running, key=lambda j: j["started_at"]),
            "workers": [self._worker(w, now) for w in workers],
            "history": [self._attempt(h) for h in self.history(HISTORY_SHOWN)],
            "failures": self._recent_failures(now),
        }

    def _recent_failures(self, now: float) -> list[dict[str, Any]]:
        if now - self._failures[0] >= FAILURES_REUSE_SECS:
            self._failures = (now, [self._failure(r) for r in self._failed(self.book.all())])
        return self._failures[1]

    def _queued(self, r: ProofRequest, position: int, eta: float | None, now: float) -> dict[str, Any]:
        return {"request_id": _rid(r.request_id), "position": position + 1, "proof_mode": mode_name(r.mode),
                "circuit_version": r.circuit_version, "execution": Execution(r.execution).name,
                "cycles": r.cycles, "waiting_secs": round(max(0.0, now - r.created_at), 1),
                "deadline": r.deadline, "attempt": r.attempt, "eta_secs": eta}

    def _running(self, w, a, now: float) -> dict[str, Any]:
        r = self.book.get(a.request_id)
        return {"request_id": _rid(a.request_id), "worker_id": w.worker_id, "worker_name": w.name,
                "attempt": a.attempt, "proof_mode": mode_name(a.mode), "phase": a.phase,
                "progress": a.percent, "cycles": r.cycles if r is not None and r.cycles is not None else a.cycles,
                "started_at": a.started, "elapsed_secs": round(max(0.0, now - a.started), 1),
                "eta_secs": self.estimates.running(w, a)}

    def _worker(self, w, now: float) -> dict[str, Any]:
        jobs = list(w.jobs.values())
        slots = [{"slot": i, "request_id": _rid(jobs[i].request_id) if i < len(jobs) else None,
                  "phase": jobs[i].phase if i < len(jobs) else None,
                  "progress": jobs[i].percent if i < len(jobs) else None,
                  "eta_secs": self.estimates.running(w, jobs[i]) if i < len(jobs) else None}
                 for i in range(max(w.slots, len(jobs)))]
        rates = {}
        for mode, fit in sorted(self.rates.of(w.worker_id).items()):
            fitted = line(fit)
            rates[mode_name(mode)] = {"proofs": fit.proofs, "mean_secs": round(fit.mean_secs, 1),
                                      "fixed_secs": round(fitted[0], 2) if fitted else None,
                                      "secs_per_mcycle": round(fitted[1] * 1e6, 4) if fitted else None}
        hw = w.hardware or {}
        return {"worker_id": w.worker_id, "name": w.name, "address": w.address, "connected": w.connected,
                "draining": bool(w.draining or w.held), "backends": list(w.backends),
                "modes": sorted(mode_name(m) for m in w.modes if m in (1, 2, 3, 4)),
                "circuit_versions": sorted(w.circuit_versions), "slots": slots,
                "strikes": w.strikes, "num_completed_proofs": w.completed,
                "last_heartbeat_secs_ago": round(max(0.0, now - w.last_seen), 1),
                "cpus": hw.get("cpus"), "cpu_percent": hw.get("cpu_percent"), "ram_bytes": hw.get("ram_bytes"),
                "ram_used_bytes": hw.get("ram_used_bytes"), "gpus": list(hw.get("gpus") or []), "rates": rates}

    def _attempt(self, h: ProofRecord) -> dict[str, Any]:
        r = self.book.get(h.request_id)
        return {"request_id": _rid(h.request_id), "attempt": h.attempt, "proof_mode": mode_name(h.mode),
                "circuit_version": h.circuit_version, "worker_id": h.worker_id, "worker_name": h.worker_name,
                "outcome": h.outcome, "detail": h.detail or None, "checked": getattr(h, "checked", "") or None,
                "started_at": h.started_at, "finished_at": h.finished_at,
                "duration_secs": round(max(0.0, h.finished_at - h.started_at), 1),
                "cycles": r.cycles if r is not None else None}

    @staticmethod
    def _failed(requests: Iterable[ProofRequest]) -> list[ProofRequest]:
        failed = (r for r in requests if r.fulfillment == Fulfillment.UNFULFILLABLE)
        return heapq.nlargest(FAILURES_SHOWN, failed, key=lambda r: (r.updated_at, r.request_id))

    @staticmethod
    def _failure(r: ProofRequest) -> dict[str, Any]:
        return {"request_id": _rid(r.request_id), "proof_mode": mode_name(r.mode), "failure": r.failure or None,
                "execution": Execution(r.execution).name, "attempts": r.attempt, "failed_at": r.updated_at}

    # -- one request ----------------------------------------------------------------------------
    def request(self, request_id: bytes) -> dict[str, Any] | None:
        r = self.book.get(request_id)
        if r is None:
            return None
        now = self.clock.seconds()
        w = self.workers.get(r.worker_id) if r.worker_id else None
        a = w.jobs.get(request_id) if w is not None and r.fulfillment == Fulfillment.ASSIGNED else None
        attempts = sorted((h for h in self.history(10_000) if h.request_id == request_id),
                          key=lambda h: (h.started_at, h.attempt))
        return {
            "now": now,
            "request": {
                "request_id": _rid(r.request_id), "fulfillment": Fulfillment(r.fulfillment).name,
                "execution": Execution(r.execution).name, "proof_mode": mode_name(r.mode),
                "circuit_version": r.circuit_version, "requester": "0x" + r.requester.hex() if r.requester else None,
                "vk_hash": "0x" + r.vk_hash.hex(), "created_at": r.created_at, "deadline": r.deadline,
                "cycles": r.cycles, "attempt": r.attempt, "attempts_failed": r.attempts,
                "infra_retries": r.infra_retries, "failure": r.failure or None,
                "worker_id": r.worker_id if a is not None else None,
                "worker_name": w.name if a is not None else None,
                "phase": a.phase if a is not None else None, "progress": a.percent if a is not None else None,
                "elapsed_secs": round(now - a.started, 1) if a is not None else None,
                "eta_secs": self.estimates.request(r), "fulfilled_at": r.fulfilled_at,
            },
            "timeline": timeline(r, attempts, w.name if a is not None else None, a),
        }


def timeline(r: ProofRequest, attempts: list[ProofRecord], worker_name: str | None, running) -> list[dict]:
    """requested, executed, each attempt with its worker and outcome, fulfilled or failed."""
    events = [{"at": r.created_at, "event": "requested",
               "text": f"{mode_name(r.mode)} proof for {r.circuit_version} requested"}]
    if r.execution == Execution.EXECUTED:
        events.append({"at": r.extra.get("executed_at"), "event": "executed",
                       "text": f"executed: {r.cycles:,} cycles" if r.cycles is not None else "executed"})
    elif r.execution == Execution.UNEXECUTABLE:
        events.append({"at": r.extra.get("executed_at"), "event": "unexecutable",
                       "text": "execution failed: the program cannot be proven"})
    for h in attempts:
        events.append({"at": h.started_at, "event": "attempt", "attempt": h.attempt, "worker_name": h.worker_name,
                       "outcome": h.outcome, "checked": getattr(h, "checked", "") or None,
                       "duration_secs": round(max(0.0, h.finished_at - h.started_at), 1),
                       "text": f"attempt {h.attempt} on {h.worker_name or h.worker_id or '?'}: {h.outcome}"
                               + (f" ({h.detail})" if h.detail else "")})
    if running is not None:
        events.append({"at": running.started, "event": "attempt", "attempt": running.attempt,
                       "worker_name": worker_name, "outcome": "running",
                       "text": f"attempt {running.attempt} on {worker_name}: {running.phase}"})
    if r.fulfillment == Fulfillment.FULFILLED:
        events.append({"at": r.fulfilled_at, "event": "fulfilled", "text": "fulfilled: the proof is ready"})
    elif r.fulfillment == Fulfillment.UNFULFILLABLE:
        events.append({"at": r.updated_at, "event": "failed", "text": f"unfulfillable: {r.failure or 'no reason'}"})
    # In time order; an event without a time keeps its place after the one before it.
    last, keyed = r.created_at, []
    for i, e in enumerate(events):
        last = e["at"] if e["at"] is not None else last
        keyed.append((last, i, e))
    return [e for _, _, e in sorted(keyed, key=lambda k: (k[0], k[1]))]
