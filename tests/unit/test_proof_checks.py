"""How the hierophant checks an uploaded proof (hierophant/workers/verification.py):
verified / structure / mock, the foreign-vkey verdict, and the `[verification] command`
interface (docs/verifier-command.md), run the way the pool runs it."""
from __future__ import annotations

import struct
import sys
import textwrap

import pytest

from hierophant.config import load_config
from hierophant.workers.verification import CheckJob, check_in_process, run_command
from network_lib.bincode import encode_proof_from_network
from network_lib.config import ConfigError
from network_lib.mockproof import mock_proof
from tests.verifier_fixtures import PROOFS, template, template_file

needs_fixtures = pytest.mark.skipif(not PROOFS.is_dir(), reason="../shared/fixtures absent")
WORDS_VK_HASH = b"".join(struct.pack(">I", 5 + i) for i in range(8))


def job(tmp_path, data: bytes, mode: int, vk_hash: bytes, version: str = "v6.0.0", *,
        enabled=True, accept_mock=False, command=None, pv=None) -> CheckJob:
    path = tmp_path / "proof.bin"
    path.write_bytes(data)
    return CheckJob(str(path), mode, version, vk_hash, bytes(range(104)), (0, 0, 0, 0), pv,
                    enabled, accept_mock, command)


def template_vk_hash() -> bytes:
    return bytes.fromhex(template("plonk")["vkey"][2:])


@needs_fixtures
@pytest.mark.parametrize("mode,number", [("plonk", 3), ("groth16", 4)])
def test_a_real_proof_is_verified(tmp_path, mode, number):
    pv = bytes.fromhex(template(mode)["publicValues"][2:])
    check = check_in_process(job(tmp_path, template_file(mode), number, template_vk_hash(), pv=pv))
    assert (check.how, check.problem) == ("verified", None)
    assert "proof verifies for vkey" in check.detail


@needs_fixtures
def test_checks_name_what_failed(tmp_path):
    pv = bytes.fromhex(template("groth16")["publicValues"][2:])
    other = check_in_process(job(tmp_path, template_file("groth16"), 4, template_vk_hash(), pv=b"x" + pv))
    assert other.how is None and "public values" in other.problem    # differs from the executed ones
    foreign = check_in_process(job(tmp_path, template_file("groth16"), 4, WORDS_VK_HASH))
    assert foreign.how is None and foreign.foreign_vkey == template("groth16")["vkey"]
    wrong_mode = check_in_process(job(tmp_path, template_file("groth16"), 3, template_vk_hash()))
    assert wrong_mode.how is None and "tag" in wrong_mode.problem
    off = check_in_process(job(tmp_path, template_file("groth16"), 4, WORDS_VK_HASH, enabled=False))
    assert off.how == "structure"     # enabled = false: structure checks only, as before


@pytest.mark.parametrize("mode", [1, 2, 3, 4])
def test_mock_proofs_only_with_accept_mock_proofs(tmp_path, mode):
    data = mock_proof(mode, "v6.1.0", WORDS_VK_HASH, b"\x01\x02", bytes(range(104)))
    refused = check_in_process(job(tmp_path, data, mode, WORDS_VK_HASH, "v6.1.0"))
    assert refused.how is None and "accept_mock_proofs is false" in refused.problem
    accepted = check_in_process(job(tmp_path, data, mode, WORDS_VK_HASH, "v6.1.0", accept_mock=True))
    assert accepted.how == "mock"
    if mode in (3, 4):  # Plonk/Groth16 mocks carry the vk hash: another request's is no mock here
        other = mock_proof(mode, "v6.1.0", WORDS_VK_HASH[:-1] + b"\x09", b"\x01\x02")
        check = check_in_process(job(tmp_path, other, mode, WORDS_VK_HASH, "v6.1.0", accept_mock=True))
        assert check.how is None and "mock" in check.problem


def compressed_proof(pv: bytes) -> bytes:
    # A structurally sound Compressed ProofFromNetwork that is not the mock prover's.
    return encode_proof_from_network(struct.pack("<I", 1) + b"\x07" * 64, pv, "v6.1.0")


def test_core_and_compressed_without_a_command_are_structure_checked(tmp_path):
    check = check_in_process(job(tmp_path, compressed_proof(b"pv"), 2, WORDS_VK_HASH, "v6.1.0"))
    assert (check.how, check.problem) == ("structure", None)


VERIFIER = textwrap.dedent('''
    import os, sys
    keys = ["HIEROPHANT_PROOF_MODE", "HIEROPHANT_CIRCUIT_VERSION", "HIEROPHANT_VK_HASH",
            "HIEROPHANT_PROOF_NONCE", "HIEROPHANT_PUBLIC_VALUES"]
    seen = [sys.argv[1], sys.argv[2]] + [os.environ.get(k, "-") for k in keys]
    seen.append(open(os.environ["HIEROPHANT_VK_FILE"], "rb").read().hex())
    seen.append(str(len(sys.stdin.read())))
    open(sys.argv[1] + ".seen", "w").write("\\n".join(seen))
    print("checked " + sys.argv[2], file=sys.stderr)
    sys.exit(0 if open(sys.argv[2], "rb").read()[4] == 7 else 1)
''')


def check_with_command(job: CheckJob):
    """What ProofChecker does: the pool's verdict, then the command (in a thread there)."""
    first = check_in_process(job)
    assert first.needs_command == (first.how is None and first.problem is None)
    return run_command(job) if first.needs_command else first


def test_the_command_gets_the_documented_interface_and_its_exit_status_decides(tmp_path):
    script = tmp_path / "verify.py"
    script.write_text(VERIFIER)
    out = tmp_path / "out"
    command = f"{sys.executable} {script} {out}"
    ok = check_with_command(job(tmp_path, compressed_proof(b"pv"), 2, WORDS_VK_HASH, "v6.1.0",
                                command=command, pv=b"pv"))
    assert ok.how == "verified" and "checked" in ok.detail
    seen = (tmp_path / "out.seen").read_text().split("\n")
    assert seen == [str(out), str(tmp_path / "proof.bin"), "compressed", "v6.1.0",
                    "0x" + WORDS_VK_HASH.hex(), "0,0,0,0", b"pv".hex(), bytes(range(104)).hex(), "0"]
    bad_proof = encode_proof_from_network(struct.pack("<I", 1) + b"\x08" * 64, b"pv", "v6.1.0")
    bad = check_with_command(job(tmp_path, bad_proof, 2, WORDS_VK_HASH, "v6.1.0", command=command))
    assert bad.how is None and bad.problem.startswith("[verification] command exited 1: checked")


@needs_fixtures
def test_the_command_is_not_used_for_groth16_and_plonk(tmp_path):
    check = check_with_command(job(tmp_path, template_file("plonk"), 3, template_vk_hash(),
                                   command="false"))
    assert check.how == "verified"


def test_config_refuses_a_missing_command_and_unknown_keys(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text('worker_token = "t"\n[verification]\ncommand = "/no/such/verifier --x"\n')
    with pytest.raises(ConfigError, match="verification.command.*/no/such/verifier"):
        load_config(path)
    path.write_text('worker_token = "t"\n[verification]\nacept_mock_proofs = true\n')
    with pytest.raises(ConfigError, match="verification.acept_mock_proofs"):
        load_config(path)
    path.write_text('worker_token = "t"\n')
    v = load_config(path).verification
    assert (v.enabled, v.accept_mock_proofs, v.command) == (True, False, None)


def test_placement_keeps_a_retried_request_away_from_one_worker():
    from hierophant.workers.placement import FreeSlots, JobQueue, SlotRef, place

    queue, free = JobQueue(), FreeSlots()
    key = (3, "v6.0.0")
    queue.push(b"retry", key, deadline=10, created_at=1)
    queue.push(b"other", key, deadline=20, created_at=2)
    free.set(SlotRef("w1", 0), [key])
    avoid = {b"retry": "w1"}.get
    # Only w1 is free: the retry (the queue's head) waits for another worker's slot.
    assert place(queue, free, lambda ref, mode: (), avoid) is None
    free.set(SlotRef("w2", 0), [key])
    assert place(queue, free, lambda ref, mode: (), avoid) == (b"retry", SlotRef("w2", 0))
    assert place(queue, free, lambda ref, mode: (), avoid) == (b"other", SlotRef("w1", 0))
