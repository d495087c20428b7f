"""The SDK's retry policy (sdk-network-contract.md §6.3).

Exponential back-off like Rust ``backoff`` 0.4: 1 s initial interval, ×1.5, ±50 %
randomisation, 120 s max interval, 120 s total budget. Errors are classified exactly as the
SDK does: by gRPC code, else by substrings of the error text.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional, TypeVar

import grpc

from network_lib.client.errors import HttpStatusError, ProtocolError, RpcError, TransportError
from network_lib.client.profiles import Profile

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECS = 120.0

# §6.3: always transient; CANCELLED only from 6.2.2 (Profile.cancelled_transient).
TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.ABORTED,
    }
)

# §6.3: substrings of a non-gRPC error's text that make it transient.
TRANSIENT_PATTERNS = (
    "tls handshake",
    "dns error",
    "connection reset",
    "broken pipe",
    "transport error",
    "failed to lookup",
    "timeout",
    "deadline exceeded",
    "error sending request for url",
)


def is_transient(err: BaseException, profile: Profile) -> bool:
    """Whether the SDK of ``profile`` would retry after ``err`` (§6.3 table)."""
    if isinstance(err, RpcError):
        return _rpc_transient(err, profile)
    if isinstance(err, (HttpStatusError, ProtocolError)):
        return False  # non-2xx and would-be panics are permanent, whatever the body says
    if isinstance(err, TransportError):
        return True
    text = str(err).lower()
    return any(p in text for p in TRANSIENT_PATTERNS)


def _rpc_transient(err: RpcError, profile: Profile) -> bool:
    if err.code in TRANSIENT_CODES:
        return True
    if err.code is grpc.StatusCode.CANCELLED:
        return profile.cancelled_transient
    if err.code is grpc.StatusCode.UNKNOWN and profile.not_ready_transient:
        return "service was not ready" in err.details
    return False


class ExponentialBackoff:
    """``backoff::ExponentialBackoff`` 0.4 with the SDK's parameters (§6.3)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        rng: Callable[[], float],
        max_elapsed: Optional[float] = DEFAULT_BUDGET_SECS,
        initial: float = 1.0,
        multiplier: float = 1.5,
        randomization: float = 0.5,
        max_interval: float = 120.0,
    ) -> None:
        self._clock, self._rng = clock, rng
        self.max_elapsed = max_elapsed
        self.multiplier, self.randomization, self.max_interval = multiplier, randomization, max_interval
        self.current = initial
        self.start = clock()

    def next_backoff(self) -> Optional[float]:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        elapsed = self._clock() - self.start
        if self.max_elapsed is not None and elapsed > self.max_elapsed:
            return None
        delta = self.randomization * self.current
        lo = self.current - delta
        delay = lo + self._rng() * (2 * delta)  # uniform in [cur - δ, cur + δ]
        self.current = min(self.current * self.multiplier, self.max_interval)
        if self.max_elapsed is not None and elapsed + delay > self.max_elapsed:
            return None
        return delay


def retry(
    op: Callable[[], T],
    *,
    profile: Profile,
    what: str,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rng: Callable[[], float],
    budget: Optional[float] = DEFAULT_BUDGET_SECS,
) -> T:
    """Run ``op`` until it succeeds, fails permanently, or the budget runs out.

    The last error is re-raised as is (the SDK surfaces it too).
    """
    backoff = ExponentialBackoff(clock=clock, rng=rng, max_elapsed=budget)
    while True:
        try:
            return op()
        except Exception as err:
            if not is_transient(err, profile):
                raise
            delay = backoff.next_backoff()
            if delay is None:
                raise
            log.warning("%s: transient error, retrying in %.1f s: %s", what, delay, err)
            sleep(delay)
