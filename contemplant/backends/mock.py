"""The mock backend: proves nothing, returns the SDK mock proof after `delay_secs`.

Like sp1-sdk's mock prover (prover-backends.md §4.1) it executes the program, in a process
pool alongside the delay, so the proof carries the program's real public values; a guest
failure is a `program` failure. Progress walks through "execute" and "prove" on the reactor
clock. `fail` makes it misbehave on purpose, for tests: program / infrastructure failures,
garbage bytes, or a valid mock proof of the wrong mode.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path
from typing import Optional

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from contemplant.backends.base import (ELF_FILE, PROOF_FILE, STDIN_FILE, Backend, BackendFailure, Capabilities,
                                       ProgressFn)
from contemplant.config import ALL_MODES, ProverConfig
from network_lib import versions
from network_lib.executor.pool import ExecutionPool, Verdict
from network_lib.mockproof import V6_VK_LEN, MockProofError, mock_proof
from network_lib.versions import ProofMode
from network_lib.worker_protocol import Job

log = logging.getLogger("contemplant.mock")

# (fraction of delay_secs, phase, percent)
STEPS = ((0.0, "execute", 0.0), (0.25, "execute", 100.0), (0.5, "prove", 50.0), (0.9, "prove", 90.0))
GARBAGE_BYTES = 256


class MockBackend(Backend):
    def __init__(self, prover: ProverConfig, clock: Optional[IReactorTime] = None,
                 executions: Optional[ExecutionPool] = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.delay = prover.delay_secs
        self.fail = prover.fail
        self.capabilities = Capabilities("mock", tuple(prover.circuit_versions), ALL_MODES, prover.slots)
        self._running: dict[tuple[str, int], tuple[defer.Deferred, list]] = {}
        self.executions = executions or ExecutionPool(1)

    def stop(self) -> defer.Deferred:
        return self.executions.stop()

    def prove(self, job: Job, workdir: Path, progress: ProgressFn) -> defer.Deferred:
        key = (job.request_id, job.attempt)
        d = defer.Deferred(canceller=lambda _d: self._cancel_calls(key))
        executed = self._execute(job, workdir)
        calls = [self.clock.callLater(frac * self.delay, progress, phase, pct)
                 for frac, phase, pct in STEPS]
        calls.append(self.clock.callLater(self.delay, lambda: executed.addCallback(
            lambda v: self._finish(job, workdir, d, v))))
        self._running[key] = (d, calls)
        return d

    def _execute(self, job: Job, workdir: Path) -> defer.Deferred:
        """Deferred[Verdict | None]: None when the mock need not execute (fail modes)."""
        if self.fail != "none":
            return defer.succeed(None)
        d = self.executions.run(workdir / ELF_FILE, 0, workdir / STDIN_FILE, job.cycle_limit)
        d.addErrback(lambda f: Verdict(False, cause=0, message=f"execution failed: {f.getErrorMessage()}"))
        return d

    def cancel(self, job: Job) -> None:
        entry = self._running.get((job.request_id, job.attempt))
        if entry is not None:
            entry[0].cancel()   # runs the canceller; errbacks with CancelledError

    def _cancel_calls(self, key: tuple[str, int]) -> None:
        _, calls = self._running.pop(key, (None, []))
        for call in calls:
            if call.active():
                call.cancel()

    def _finish(self, job: Job, workdir: Path, d: defer.Deferred, verdict: Verdict | None) -> None:
        if self._running.pop((job.request_id, job.attempt), None) is None or d.called:
            return      # cancelled meanwhile
        try:
            if verdict is not None and not verdict.ok:
                raise BackendFailure("program" if verdict.cause else "infrastructure",
                                     f"executing the program: {verdict.message or 'no verdict'}")
            path = workdir / PROOF_FILE
            pv = verdict.public_values if verdict is not None else b""
            path.write_bytes(self._proof_bytes(job, pv))   # small: no thread needed
        except BackendFailure as e:
            d.errback(e)
        else:
            d.callback(path)

    def _proof_bytes(self, job: Job, pv: bytes) -> bytes:
        if self.fail in ("program", "infrastructure"):
            raise BackendFailure(self.fail, f"mock backend configured with fail = {self.fail!r}")
        if self.fail == "garbage":
            return os.urandom(GARBAGE_BYTES)
        if self.fail == "wrong-mode":
            return self._wrong_mode_proof(job)
        return _mock(job, job.mode, pv)

    def _wrong_mode_proof(self, job: Job) -> bytes:
        for mode in ALL_MODES:
            if mode != job.mode:
                try:
                    return _mock(job, mode, b"")
                except BackendFailure:
                    continue
        raise BackendFailure("infrastructure", "no other mode can be mocked for this job")


def _mock(job: Job, mode: int, public_values: bytes) -> bytes:
    """The SDK mock ProofFromNetwork with the executed public values (§4.5). A v6 Compressed
    proof embeds the vk (§4.6a): for a program registered without one, an all-zero vk."""
    try:
        vk = base64.b64decode(job.vk, validate=True) if job.vk else None
        if not vk and mode == ProofMode.COMPRESSED and versions.major(job.circuit_version) == 6:
            log.info("job %s#%d: the program was registered without a vk; the mock Compressed "
                     "proof carries an all-zero %d-byte vk", job.request_id[:18], job.attempt, V6_VK_LEN)
            vk = bytes(V6_VK_LEN)
        vk_hash = bytes.fromhex(job.vk_hash[2:] if job.vk_hash.startswith("0x") else job.vk_hash)
        return mock_proof(mode, job.circuit_version, vk_hash, public_values, vk)
    except (MockProofError, binascii.Error, ValueError) as e:
        raise BackendFailure("infrastructure", f"cannot build a mock proof: {e}") from None
