"""The mock backend: SDK mock proofs per mode and circuit version, and each `fail` mode."""
from __future__ import annotations

import base64
import dataclasses
import struct

import pytest
from twisted.internet import defer, task

from contemplant.backends.base import BackendFailure
from contemplant.backends.mock import MockBackend
from contemplant.config import ProverConfig
from network_lib import bincode
from network_lib.bincode import ProofFormatError
from network_lib.versions import CIRCUIT_VERSIONS
from network_lib.executor.pool import Verdict
from network_lib.worker_protocol import Job

VK_HASH = "0x" + b"".join(struct.pack(">I", w) for w in range(1, 9)).hex()
VK = base64.b64encode(bytes(104)).decode()      # 26 zero KoalaBear words: a usable v6 vk


def job(mode=1, version="v6.1.0", vk=VK, vk_hash=VK_HASH) -> Job:
    return Job(request_id="0x" + "ab" * 32, attempt=1, mode=mode, circuit_version=version,
               vk_hash=vk_hash, vk=vk, elf_url="http://x/elf", stdin_url="http://x/stdin",
               proof_upload_url="http://x/proof", deadline=2**40, cycle_limit=10**9)


PV = b"public values!"


class FakeExecutions:
    """Stands in for the process pool: every program "executes" to PV."""

    def __init__(self, verdict=None):
        self.verdict = verdict or Verdict(True, cycles=12, public_values=PV)
        self.runs = []

    def run(self, elf_path, elf_offset, stdin_path, cycle_limit, cap=None):
        self.runs.append((elf_path.name, stdin_path.name, cycle_limit))
        return defer.succeed(self.verdict)

    def stop(self):
        pass


def backend(executions=None, **kw):
    prover = ProverConfig(backend="mock", delay_secs=2.0, slots=1, circuit_versions=CIRCUIT_VERSIONS,
                          fail="none")
    clock = task.Clock()
    return MockBackend(dataclasses.replace(prover, **kw), clock, executions or FakeExecutions()), clock


def prove(j: Job, tmp_path, executions=None, **kw):
    b, clock = backend(executions, **kw)
    events, results = [], []
    d = b.prove(j, tmp_path, lambda phase, percent=None, cycles=None: events.append((phase, percent)))
    d.addBoth(results.append)
    clock.advance(1.0)
    assert not results
    clock.advance(1.0)
    assert results and not clock.getDelayedCalls()
    return results[0], events


@pytest.mark.parametrize("version", CIRCUIT_VERSIONS)
@pytest.mark.parametrize("mode", [1, 2, 3, 4])
def test_each_mode_and_version_validates(tmp_path, mode, version):
    path, events = prove(job(mode, version), tmp_path)
    info = bincode.inspect_proof(path.read_bytes(), mode=mode, circuit_version=version,
                                 expected_public_values=PV)
    assert info.sp1_version == version
    assert [p for p, _ in events] == ["execute", "execute", "prove", "prove"]
    assert events[-1][1] == 90.0


@pytest.mark.parametrize("kind", ["program", "infrastructure"])
def test_fail_kinds(tmp_path, kind):
    failure, _ = prove(job(), tmp_path, fail=kind)
    assert isinstance(failure.value, BackendFailure) and failure.value.kind == kind


def test_fail_garbage(tmp_path):
    path, _ = prove(job(3), tmp_path, fail="garbage")
    with pytest.raises((ProofFormatError, bincode.BincodeError)):
        bincode.inspect_proof(path.read_bytes(), mode=3, circuit_version="v6.1.0")


@pytest.mark.parametrize("mode", [1, 2, 3, 4])
def test_fail_wrong_mode(tmp_path, mode):
    path, _ = prove(job(mode, "v6.0.0"), tmp_path, fail="wrong-mode")
    data = path.read_bytes()
    with pytest.raises(ProofFormatError):
        bincode.inspect_proof(data, mode=mode, circuit_version="v6.0.0")
    tag = struct.unpack("<I", data[:4])[0]
    assert tag != mode - 1
    bincode.inspect_proof(data, mode=tag + 1, circuit_version="v6.0.0")


def test_unusable_vk_is_an_infrastructure_failure(tmp_path):
    failure, _ = prove(job(2, "v6.1.0", vk=base64.b64encode(b"short").decode()), tmp_path)
    assert failure.value.kind == "infrastructure" and "104 bytes" in failure.value.message


def test_reduced_vk_hash_for_plonk_is_an_infrastructure_failure(tmp_path):
    failure, _ = prove(job(3, "v5.0.0", vk_hash="0x" + "ff" * 32), tmp_path)
    assert failure.value.kind == "infrastructure"


def test_cancel(tmp_path):
    b, clock = backend()
    j = job()
    results = []
    b.prove(j, tmp_path, lambda *a, **k: None).addBoth(results.append)
    clock.advance(0.5)
    b.cancel(j)
    assert results[0].check(defer.CancelledError)
    assert not clock.getDelayedCalls()
    b.cancel(j)   # a second cancel is harmless


def test_executes_the_job_inputs_with_its_cycle_limit(tmp_path):
    executions = FakeExecutions()
    prove(job(), tmp_path, executions)
    assert executions.runs == [("program.elf", "stdin.bin", 10**9)]


def test_a_failing_guest_is_a_program_failure(tmp_path):
    executions = FakeExecutions(Verdict(False, cause=1, message="exit code 1"))
    failure, _ = prove(job(), tmp_path, executions)
    assert failure.value.kind == "program" and "exit code 1" in failure.value.message
