"""`backend = "sp1-gpu"`: SP1 v6 proofs on `sp1-gpu-server`, one slot per GPU.

prover-backends.md §1 and §7.1. At construction the binary's `--version` must equal
`sp1_version` (a ConfigError otherwise: the contemplant exits 2 and is never listed), and
Plonk/Groth16 are advertised only when their circuits are installed (§1.10). Every server
failure is an `infrastructure` failure (DESIGN.md "Failure rules"): the hierophant retries.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Optional

from twisted.internet import defer
from twisted.python.failure import Failure

from contemplant.backends.base import Backend, BackendFailure, Capabilities, ProgressFn
from contemplant.backends.sp1_gpu import circuits, server
from contemplant.backends.sp1_gpu.gpu import Gpu
from contemplant.config import ProverConfig
from network_lib.config import ConfigError
from network_lib.versions import circuit_from_crate_version
from network_lib.worker_protocol import Job

log = logging.getLogger("contemplant.sp1_gpu")

LAUNCHES = ("spawn", "external")
STARK_MODES = (1, 2)


class Sp1GpuBackend(Backend):
    def __init__(self, prover: ProverConfig, reactor=None, environ: Optional[Mapping[str, str]] = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        environ = os.environ if environ is None else environ
        if prover.launch not in LAUNCHES:
            raise ConfigError(f"sp1-gpu: launch must be one of {', '.join(LAUNCHES)}, got {prover.launch!r}")
        try:
            circuit = circuit_from_crate_version(prover.sp1_version)
        except ValueError as e:
            raise ConfigError(f"sp1-gpu: sp1_version: {e}") from None
        if not circuit.startswith("v6"):
            raise ConfigError(f"sp1-gpu serves SP1 v6 only; sp1_version {prover.sp1_version} is {circuit}")
        binary = os.path.expanduser(prover.binary)
        self._check_binary(binary, prover)
        spawn = prover.launch == "spawn"
        self.gpus = [Gpu(reactor, g, binary, prover.socket_dir, spawn) for g in prover.gpus]
        self.capabilities = Capabilities("sp1-gpu", (circuit,), self._modes(prover, circuit, environ),
                                         len(self.gpus))
        self._running: dict[tuple[str, int], tuple[Gpu, defer.Deferred]] = {}

    @staticmethod
    def _check_binary(binary: str, prover: ProverConfig) -> None:
        if prover.launch == "external" and not Path(binary).exists():
            log.warning("sp1-gpu: %s is not here, so the external server's version cannot be "
                        "checked against sp1_version %s", binary, prover.sp1_version)
            return
        found = server.check_version(binary, prover.sp1_version)
        log.info("sp1-gpu: %s is version %s", binary, found)

    @staticmethod
    def _modes(prover: ProverConfig, circuit: str, environ: Mapping[str, str]) -> tuple[int, ...]:
        snarks, why = circuits.snark_modes(prover.sp1_version, circuit, environ)
        for kind, reason in why.items():
            log.warning("sp1-gpu: not serving %s proofs: %s circuit not installed (%s)",
                        kind.capitalize(), kind, reason)
        return STARK_MODES + snarks

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> defer.Deferred:
        return defer.gatherResults([g.start() for g in self.gpus], consumeErrors=True)

    def stop(self) -> defer.Deferred:
        return defer.gatherResults([g.stop() for g in self.gpus], consumeErrors=True)

    # -- jobs -----------------------------------------------------------------------------------
    def prove(self, job: Job, workdir: Path, progress: ProgressFn) -> defer.Deferred:
        gpu = next((g for g in self.gpus if g.job is None), None)
        if gpu is None:
            return defer.fail(BackendFailure("infrastructure", "no idle GPU for this job"))
        key = (job.request_id, job.attempt)
        gpu.job = job
        outer: defer.Deferred = defer.Deferred(canceller=lambda _d: self._abort(key))
        self._running[key] = (gpu, outer)
        gpu.prove(job, workdir, progress).addBoth(self._done, key, gpu, job, outer)
        return outer

    def _done(self, result, key, gpu: Gpu, job: Job, outer: defer.Deferred) -> None:
        if gpu.job is job:
            gpu.job, gpu.parser = None, None
        self._running.pop(key, None)
        if not outer.called:
            outer.callback(result) if not isinstance(result, Failure) else outer.errback(result)

    def cancel(self, job: Job) -> None:
        entry = self._running.get((job.request_id, job.attempt))
        if entry is not None:
            entry[1].cancel()         # -> _abort; errbacks with CancelledError

    def _abort(self, key: tuple[str, int]) -> None:
        gpu, _ = self._running.pop(key, (None, None))
        if gpu is not None:
            gpu.job = None
            gpu.abort()
