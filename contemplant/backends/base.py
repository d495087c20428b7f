"""The backend interface (DESIGN.md "Backend interface (contemplant)").

A backend declares what it serves (circuit versions, modes, slots) and proves one job per
slot: `prove(job, workdir, progress)` returns a Deferred firing with the path of a file that
holds `bincode(ProofFromNetwork)`. The work directory already holds the raw ELF
(`ELF_FILE`) and the raw `bincode(SP1Stdin)` (`STDIN_FILE`). Failures errback with
`BackendFailure(kind, message)`; `cancel(job)` makes the Deferred errback with
`defer.CancelledError`. Backends that own child processes or containers start them in
`start()` and stop them in `stop()`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol

from twisted.internet import defer

from network_lib.worker_protocol import FAILURE_KINDS, Job

ELF_FILE = "program.elf"
STDIN_FILE = "stdin.bin"
PROOF_FILE = "proof.bin"


class BackendFailure(Exception):
    """A failed attempt: `kind` is program (the guest failed), infrastructure or unsupported."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}")
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class ProgressFn(Protocol):
    def __call__(self, phase: str, percent: Optional[float] = None,
                 cycles: Optional[int] = None) -> None: ...


@dataclass(frozen=True)
class Capabilities:
    backend: str
    circuit_versions: tuple[str, ...]
    modes: tuple[int, ...]
    slots: int

    def serves(self, job: Job) -> bool:
        return job.mode in self.modes and job.circuit_version in self.circuit_versions


class Backend(ABC):
    """One configured `[[provers]]` table."""

    capabilities: Capabilities

    def start(self) -> defer.Deferred:
        """Bring up what the backend owns (servers, containers); fires when ready."""
        return defer.succeed(None)

    def stop(self) -> defer.Deferred:
        """Tear down what `start` brought up."""
        return defer.succeed(None)

    @abstractmethod
    def prove(self, job: Job, workdir: Path, progress: ProgressFn) -> defer.Deferred:
        """Deferred[Path] of a file holding bincode(ProofFromNetwork)."""

    @abstractmethod
    def cancel(self, job: Job) -> None:
        """Stop proving `job`; its `prove` Deferred errbacks with CancelledError."""
