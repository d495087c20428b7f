"""The rate model of one (worker, mode): `seconds ≈ fixed + per_cycle × cycles` (issue 12).

Pure code: no reactor, no I/O. A `RateFit` is an immutable value holding exponentially
weighted sums of the worker's finished proofs; `learn` returns the next value and `predict`
reads one. The fit is weighted least squares over the proofs whose executed cycle count is
known, each older proof weighing DECAY times less than the next, so a worker that changes
(a new GPU, a busier host) is followed within about 1 / (1 - DECAY) proofs.

- No proof yet: no fit (`predict` answers None: "unknown", never a guess).
- Cycles known for the job and the fit has them: fixed + per_cycle × cycles, with the line
  through the proofs seen. Until two proofs of different sizes are seen the slope is not
  known, and the line is flat (the mean time).
- Cycles unknown (execution off, or not finished yet), or no proof with cycles seen: the
  fixed term alone, the weighted mean time of all the worker's proofs of that mode.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

DECAY = 0.9                 # weight kept by each older proof
MCYCLES = 1e6               # sums are kept in millions of cycles (well-scaled floats)
MIN_SPREAD = 1e-9           # relative variance of cycles below which the slope is unknown


@dataclass(frozen=True)
class RateFit:
    """One worker's rate for one proof mode; persisted by `hierophant.eta.rates.Rates`."""
    id: str                     # "<worker_id>/<mode>": the store's primary key
    worker_id: str
    mode: int
    proofs: int = 0             # finished proofs learned from
    mean_weight: float = 0.0    # decayed weight of all proofs
    mean_secs: float = 0.0      # decayed mean seconds of all proofs (the fixed term alone)
    weight: float = 0.0         # decayed sums over the proofs with cycles known:
    sum_x: float = 0.0          #   x = cycles / 1e6
    sum_y: float = 0.0          #   y = seconds
    sum_xx: float = 0.0
    sum_xy: float = 0.0
    updated_at: float = 0.0


def fit_id(worker_id: str, mode: int) -> str:
    return f"{worker_id}/{mode}"


def empty(worker_id: str, mode: int) -> RateFit:
    return RateFit(id=fit_id(worker_id, mode), worker_id=worker_id, mode=mode)


def learn(fit: RateFit, secs: float, cycles: int | None, at: float = 0.0) -> RateFit:
    """The fit after one more finished proof that took `secs` (cycles None when unknown)."""
    secs = max(0.0, float(secs))
    mw = fit.mean_weight * DECAY + 1.0
    changes = {"proofs": fit.proofs + 1, "mean_weight": mw,
               "mean_secs": fit.mean_secs + (secs - fit.mean_secs) / mw, "updated_at": at}
    if cycles is not None and cycles >= 0:
        x = cycles / MCYCLES
        changes.update(weight=fit.weight * DECAY + 1.0, sum_x=fit.sum_x * DECAY + x,
                       sum_y=fit.sum_y * DECAY + secs, sum_xx=fit.sum_xx * DECAY + x * x,
                       sum_xy=fit.sum_xy * DECAY + x * secs)
    return replace(fit, **changes)


def line(fit: RateFit) -> tuple[float, float] | None:
    """(fixed seconds, seconds per cycle) of the proofs with cycles, or None without any.

    Weighted least squares; a slope below zero (bigger programs proving faster) is noise,
    so it is clamped to zero; a fixed term below zero is clamped to zero likewise, the slope
    then going through the origin."""
    if fit.weight <= 0:
        return None
    mx, my = fit.sum_x / fit.weight, fit.sum_y / fit.weight
    var = fit.sum_xx / fit.weight - mx * mx
    if var <= MIN_SPREAD * max(1.0, mx * mx):
        return my, 0.0
    slope = max(0.0, (fit.sum_xy / fit.weight - mx * my) / var)
    fixed = my - slope * mx
    if fixed < 0:
        fixed, slope = 0.0, fit.sum_xy / fit.sum_xx
    return fixed, slope / MCYCLES


def predict(fit: RateFit | None, cycles: int | None) -> float | None:
    """Expected seconds of a whole proof; None before the first proof."""
    if fit is None or fit.proofs == 0:
        return None
    fitted = line(fit) if cycles is not None else None
    if fitted is None:
        return fit.mean_secs
    fixed, per_cycle = fitted
    return fixed + per_cycle * cycles
