"""How an uploaded proof is checked before FULFILLED (issue 10; DESIGN.md "Failure rules").

Owns the verdict on one proof file: acceptable as ``verified`` (Groth16/Plonk with the
Python SP1 verifier, Core/Compressed by ``[verification] command``), ``structure``
(:mod:`hierophant.workers.acceptance` only: Core/Compressed without a command, or every
mode while ``enabled = false``) or ``mock`` (the SDK mock prover's exact layout, only with
``accept_mock_proofs``); or refused with the reason. :func:`screen` (structure, the mock
rule: cheap, file reads) runs in a reactor thread; only the CPU-bound pairings of a
Groth16/Plonk proof (:func:`verify_in_process`) go to the process pool, so a Core or mock
proof costs no inter-process round trip; the operator's command runs in a reactor thread
(it may take minutes and must not hold up the pool). Nothing runs on the reactor;
:class:`ProofChecker` is the reactor-side handle the scheduler owns.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from twisted.internet import defer, threads

from hierophant.config import VerificationConfig
from hierophant.model import ProofRequest
from hierophant.workers.acceptance import check_proof_file
from hierophant.workers.intake import CheckResult
from network_lib import versions
from network_lib.bincode import BincodeError, Reader, encode_proof_tail, inspect_proof
from network_lib.executor.pool import ExecutionPool
from network_lib.mockproof import MockProofError, mock_proof

VERIFIED, STRUCTURE, MOCK = "verified", "structure", "mock"
COMMAND_TIMEOUT_SECS = 600       # docs/verifier-command.md
MOCK_MAX_BYTES = 1 << 20         # a Core/Compressed mock is a few hundred bytes at most
_SNARKS = (versions.ProofMode.PLONK, versions.ProofMode.GROTH16)


@dataclass(frozen=True)
class ProofCheck:
    """``how`` is set when the proof is acceptable; else ``problem`` says why not.
    ``foreign_vkey``: the proof verifies, but for this other program vkey (hex).
    ``needs_command``: sound so far; ``[verification] command`` decides.
    ``needs_pairing``: sound so far; the Groth16/Plonk verifier decides."""
    how: str | None
    problem: str | None = None
    foreign_vkey: str | None = None
    detail: str = ""
    needs_command: bool = False
    needs_pairing: bool = False


@dataclass(frozen=True)
class CheckJob:
    """Everything a pool process needs (it pickles)."""
    path: str
    mode: int
    circuit_version: str
    vk_hash: bytes
    vk: bytes
    nonce: tuple[int, int, int, int]
    expected_public_values: bytes | None
    enabled: bool
    accept_mock: bool
    command: str | None


def check_in_process(job: CheckJob) -> ProofCheck:
    """The whole verdict on one proof file, in one call (blocking; what `ProofChecker` does
    in two steps)."""
    check = screen(job)
    return verify_in_process(job) if check.needs_pairing else check


def verify_in_process(job: CheckJob) -> ProofCheck:
    """The Groth16/Plonk verdict (in a pool process: pairings are CPU-bound)."""
    return _verify_snark(Path(job.path).read_bytes(), job)


def screen(job: CheckJob) -> ProofCheck:
    """Structure and the mock rule (blocking file reads: a thread); what decides next."""
    path, mode = Path(job.path), versions.ProofMode(job.mode)
    problem = check_proof_file(path, job.mode, job.circuit_version, job.expected_public_values)
    if problem:
        return ProofCheck(None, problem)
    data = path.read_bytes() if mode in _SNARKS or path.stat().st_size <= MOCK_MAX_BYTES else None
    if data is not None and _is_mock(data, job):
        if job.accept_mock:
            return ProofCheck(MOCK, detail="the SDK mock prover's proof (accept_mock_proofs)")
        return ProofCheck(None, "a mock proof (the SDK mock prover's layout) while "
                                "[verification] accept_mock_proofs is false")
    if not job.enabled:
        return ProofCheck(STRUCTURE)
    if mode in _SNARKS:
        return ProofCheck(None, needs_pairing=True)
    if job.command:
        return ProofCheck(None, needs_command=True)
    return ProofCheck(STRUCTURE)


def _verify_snark(data: bytes, job: CheckJob) -> ProofCheck:
    from network_lib.verifier import verify_proof_file

    report = verify_proof_file(data, job.vk_hash, nonce=job.nonce,
                               expected_public_values=job.expected_public_values)
    if report.valid:
        return ProofCheck(VERIFIED, detail=report.reason)
    if report.check == "vkey":
        return ProofCheck(None, report.reason, foreign_vkey=report.proof_vkey)
    return ProofCheck(None, f"{report.check}: {report.reason}")


def _is_mock(data: bytes, job: CheckJob) -> bool:
    """Exactly the bytes the SDK mock prover would send for this request
    (prover-backends.md §4), given the public values the proof carries."""
    try:
        if versions.ProofMode(job.mode) in _SNARKS:
            pv = inspect_proof(data, mode=job.mode, circuit_version=job.circuit_version).public_values
        else:
            empty = mock_proof(job.mode, job.circuit_version, job.vk_hash, b"", job.vk or None)
            body = empty[:len(empty) - len(encode_proof_tail(b"", job.circuit_version))]
            if not data.startswith(body):
                return False
            pv = Reader(data, len(body)).bytes("public values")
        return pv is not None and data == mock_proof(
            job.mode, job.circuit_version, job.vk_hash, pv, job.vk or None)
    except (MockProofError, BincodeError, ValueError):
        return False


def run_command(job: CheckJob) -> ProofCheck:
    """docs/verifier-command.md: ``command… PROOF_FILE``, facts in the environment,
    exit status 0 = valid. Blocks: call it in a thread."""
    argv = [*shlex.split(job.command or ""), job.path]
    with tempfile.NamedTemporaryFile(prefix="vk-", suffix=".bin") as vk_file:
        vk_file.write(job.vk)
        vk_file.flush()
        env = {**os.environ,
               "HIEROPHANT_PROOF_MODE": versions.ProofMode(job.mode).name.lower(),
               "HIEROPHANT_CIRCUIT_VERSION": job.circuit_version,
               "HIEROPHANT_VK_HASH": "0x" + job.vk_hash.hex(),
               "HIEROPHANT_VK_FILE": vk_file.name,
               "HIEROPHANT_PROOF_NONCE": ",".join(map(str, job.nonce))}
        if job.expected_public_values is not None:
            env["HIEROPHANT_PUBLIC_VALUES"] = job.expected_public_values.hex()
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  env=env, timeout=COMMAND_TIMEOUT_SECS, check=False)
        except subprocess.TimeoutExpired:
            return ProofCheck(None, f"[verification] command gave no verdict within "
                                    f"{COMMAND_TIMEOUT_SECS} s")
        except OSError as e:
            return ProofCheck(None, f"[verification] command could not run: {e}")
    said = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
    last = said[-1][:300] if said else ""
    if done.returncode == 0:
        return ProofCheck(VERIFIED, detail=f"verified by [verification] command{': ' + last if last else ''}")
    return ProofCheck(None, f"[verification] command exited {done.returncode}"
                            f"{': ' + last if last else ''}")


class ProofChecker:
    """Reactor-side (intake's pluggable checker, hierophant.workers.intake): the pool's
    verdict, then the operator's command when one decides."""

    def __init__(self, cfg: VerificationConfig, programs, reactor=None, processes: int = 1) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.cfg, self.programs, self.reactor = cfg, programs, reactor
        self.pool = ExecutionPool(processes)

    def check(self, request: ProofRequest, path: Path) -> defer.Deferred:
        """Deferred[CheckResult] for the proof file at `path`."""
        pv = request.extra.get("public_values")
        program = self.programs.get(request.vk_hash)
        job = CheckJob(str(path), request.mode, request.circuit_version, request.vk_hash,
                       program.vk if program is not None and program.vk else b"", (0, 0, 0, 0),
                       bytes.fromhex(pv) if isinstance(pv, str) else None, self.cfg.enabled,
                       self.cfg.accept_mock_proofs, self.cfg.command)
        d = self._in_thread(screen, job)
        d.addCallback(self._decide, job)
        return d.addCallback(_result)

    def _decide(self, check: ProofCheck, job: CheckJob):
        if check.needs_pairing:
            return self.pool.submit(verify_in_process, job)
        if check.needs_command:
            return self._in_thread(run_command, job)
        return check

    def _in_thread(self, fn, job: CheckJob) -> defer.Deferred:
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), fn, job)

    def stop(self):
        return self.pool.stop()


def _result(c: ProofCheck) -> CheckResult:
    if c.how is not None:
        return CheckResult(None, c.how, c.detail)
    return CheckResult(c.problem or "refused", "", c.detail, c.foreign_vkey)
