"""Prover backends behind one interface (base.py); `build` makes one from a `[[provers]]` table."""
from __future__ import annotations

from contemplant.backends.base import Backend, BackendFailure, Capabilities
from contemplant.config import ProverConfig
from network_lib.config import ConfigError

__all__ = ["Backend", "BackendFailure", "Capabilities", "build"]


def build(prover: ProverConfig, index: int) -> Backend:
    """The backend for one resolved `[[provers]]` table; ConfigError if it is not available."""
    if prover.backend == "mock":
        from contemplant.backends.mock import MockBackend
        return MockBackend(prover)
    raise ConfigError(f"provers.{index}: backend {prover.backend!r} is not available yet "
                      "in this version of the contemplant (only 'mock' is implemented)")
