"""When will it be done: ETAs of running and queued proofs from rate fits (issue 12).

Pure code: no reactor, no I/O; `hierophant.eta.estimates` feeds it the live state.

- A running proof: the fit's expected total minus the time it has run. Once it runs past
  that (the fit was wrong, or the worker is slower today) its reported progress takes over:
  at p percent after t seconds, t × (100 − p) / p more. Unknown (None) while the worker has
  no finished proof of that mode.
- A queued proof: the queue is played forward in dispatch order (earliest deadline first,
  then arrival) over the slots that serve it: each request takes the capable slot that frees
  first, and holds it for the fit's time on that worker. Its ETA is when it would finish.
  A slot whose running proof has no estimate never frees in this play (unknown), so the
  requests behind it get no ETA rather than a wrong one.
"""
from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hierophant.eta.fit import RateFit, predict

QUEUE_PLAYED = 1000          # queued requests given an ETA; later ones get None


def running_eta(total: float | None, elapsed: float, percent: float | None) -> float | None:
    """Seconds left of a running proof expected to take `total` seconds (None: unknown)."""
    if total is None:
        return None
    left = total - elapsed
    if left > 0:
        return round(left, 1)
    if percent is not None and 0 < percent < 100:
        return round(max(elapsed, 0.0) * (100 - percent) / percent, 1)
    return 0.0


@dataclass(frozen=True)
class Server:
    """A worker's slots as the queue play sees them."""
    worker_id: str
    serves: frozenset[tuple[int, str]]                    # (mode, circuit version)
    fits: Mapping[int, RateFit] = field(default_factory=dict)   # mode -> its fit
    free_in: tuple[float | None, ...] = ()                # per slot: seconds until free


@dataclass(frozen=True)
class Waiting:
    """A queued request, in dispatch order."""
    request_id: bytes
    mode: int
    circuit_version: str
    cycles: int | None = None


def queue_etas(queue: Sequence[Waiting], servers: Sequence[Server],
               played: int = QUEUE_PLAYED) -> dict[bytes, float | None]:
    """Seconds until each queued request would be proven, or None where it cannot be told."""
    heap = [(free, i, n) for i, s in enumerate(servers) for n, free in enumerate(s.free_in) if free is not None]
    heapq.heapify(heap)
    out: dict[bytes, float | None] = {}
    for k, w in enumerate(queue):
        if k >= played:
            out[w.request_id] = None
            continue
        key, passed, took = (w.mode, w.circuit_version), [], None
        while heap:
            slot = heapq.heappop(heap)
            if key in servers[slot[1]].serves:
                took = slot
                break
            passed.append(slot)
        for slot in passed:
            heapq.heappush(heap, slot)
        if took is None:
            out[w.request_id] = None
            continue
        free, i, n = took
        secs = predict(servers[i].fits.get(w.mode), w.cycles)
        if secs is None:
            out[w.request_id] = None        # this slot's future is unknown from here on
            continue
        out[w.request_id] = round(free + secs, 1)
        heapq.heappush(heap, (free + secs, i, n))
    return out
