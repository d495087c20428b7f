"""Owner of the rate fits, one per (worker, mode), on the reactor (issue 12).

A finished proof teaches its worker's fit (`learn`); the new value is written to the store
and becomes visible once committed, like every record (hierophant/model.py), so the fits
survive restarts and `kill -9`. Reads are plain dictionary lookups.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from twisted.internet import defer

from hierophant.eta.fit import RateFit, empty, learn

log = logging.getLogger(__name__)


class Rates:
    def __init__(self, store, fits: Iterable[RateFit] = ()) -> None:
        self.store = store
        self._fits: dict[tuple[str, int], RateFit] = {(f.worker_id, f.mode): f for f in fits}
        self._latest = dict(self._fits)        # includes values still being written

    def get(self, worker_id: str, mode: int) -> RateFit | None:
        return self._fits.get((worker_id, mode))

    def of(self, worker_id: str) -> dict[int, RateFit]:
        """mode -> fit of one worker."""
        return {m: f for (w, m), f in self._fits.items() if w == worker_id}

    def learn(self, worker_id: str, mode: int, secs: float, cycles: int | None, at: float) -> defer.Deferred:
        """One more finished proof; fires once the new fit is committed and visible."""
        key = (worker_id, mode)
        new = learn(self._latest.get(key) or empty(worker_id, mode), secs, cycles, at)
        self._latest[key] = new

        def visible(_):
            self._fits[key] = new           # writes commit in the order they were made
            return new

        d = self.store.write(put=[new])
        d.addCallback(visible)
        d.addErrback(lambda f: log.error("rate fit of %s mode %d not saved: %s", worker_id, mode,
                                         f.getErrorMessage()))
        return d
