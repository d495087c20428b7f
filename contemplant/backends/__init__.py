"""Prover backends behind one interface (base.py); `build` makes one from a `[[provers]]` table."""
from __future__ import annotations

from contemplant.backends.base import Backend, BackendFailure, Capabilities
from contemplant.config import ProverConfig
from network_lib.config import ConfigError

__all__ = ["Backend", "BackendFailure", "Capabilities", "build"]


def build(prover: ProverConfig, index: int) -> Backend:
    """The backend for one resolved `[[provers]]` table; ConfigError if it cannot run here."""
    if prover.backend == "mock":
        from contemplant.backends.mock import MockBackend
        return MockBackend(prover)
    if prover.backend == "sp1-gpu":
        from contemplant.backends.sp1_gpu import Sp1GpuBackend
        return Sp1GpuBackend(prover)     # ConfigError: bad binary/version (exit 2)
    if prover.backend == "moongate":
        from contemplant.backends.moongate import MoongateBackend
        return MoongateBackend(prover)
    if prover.backend == "command":
        from contemplant.backends.command import CommandBackend
        return CommandBackend(prover)
    raise ConfigError(f"provers.{index}: unknown backend {prover.backend!r} "
                      "(mock, sp1-gpu, moongate, command)")
