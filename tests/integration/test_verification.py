"""Proofs verified before FULFILLED, with real processes (issue 10): a contemplant whose
`command` backend returns a real Groth16/Plonk proof (../shared/fixtures, wrapped as
ProofFromNetwork) gets its request FULFILLED and the client downloads the same bytes; a
flipped bit, changed public values or a mock proof (accept_mock_proofs false) are bad proofs;
a proof of another program ends the request with a reason after one retry elsewhere."""
from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path

import pytest

from network_lib.client import NetworkClient
from network_lib.client.profiles import SDK_6
from network_lib.mockproof import mock_proof
from network_lib.proto import network_pb2 as pb
from tests.integration.sp1data import elf, stdin, vk, vk_hash
from tests.integration.test_contemplants import FAST, history
from tests.integration.test_durability import wait_for
from tests.verifier_fixtures import PROOFS, template, template_file

needs_fixtures = pytest.mark.skipif(not PROOFS.is_dir(), reason="../shared/fixtures absent")

# The template proofs are circuit v6.0.0 (SDK 6.0.x sends "sp1-v6.0.0").
SDK_6_0 = dataclasses.replace(SDK_6, name="6.0", version="sp1-v6.0.0")
MODES = {"plonk": 3, "groth16": 4}

# Copies $PROOF_<MODE> to the output: the prover "proves" by returning a prepared file.
SCRIPT = textwrap.dedent('''
    import os, shutil
    shutil.copyfile(os.environ["PROOF_" + os.environ["PROVER_MODE"].upper()], os.environ["PROVER_OUT"])
''')


def template_vk_hash() -> bytes:
    """The template program's vkey as the 32-byte element (the SDK 5.0.0-5.0.5 form)."""
    return bytes.fromhex(template("groth16")["vkey"][2:])


def hierophant(make_hierophant, **scheduler):
    # No execution: the template's ELF is not among the fixtures.
    return make_hierophant(scheduler={**FAST, **scheduler}, execution={"enabled": False},
                           verification={"accept_mock_proofs": False})


def prover(make_contemplant, h, tmp_path: Path, name: str, proofs: dict[str, bytes]):
    script = tmp_path / "prover.py"
    script.write_text(SCRIPT)
    env = {}
    for mode, data in proofs.items():
        path = tmp_path / f"{name}-{mode}.bin"
        path.write_bytes(data)
        env[f"PROOF_{mode.upper()}"] = str(path)
    c = make_contemplant(h, name, start=False)
    c.cfg["provers"] = [{"backend": "command", "command": f"{sys.executable} {script}",
                         "sp1_version": "6.0.0", "modes": [3, 4], "slots": 2}]
    return c.start(env=env)


def request(h, mode: str, program_vk_hash: bytes, n: int = 1) -> bytes:
    with NetworkClient(h.rpc_url, unsigned=True, profile=SDK_6_0) as c:
        c.register_program(program_vk_hash, vk(), elf(program_vk_hash[:4]))
        return c.request_proof(program_vk_hash, stdin(n), mode)


def status(h, rid: bytes) -> pb.GetProofRequestStatusResponse:
    with NetworkClient(h.rpc_url, unsigned=True, profile=SDK_6_0) as c:
        return c.get_proof_status(rid)


def wait_terminal(h, rid: bytes) -> pb.GetProofRequestStatusResponse:
    done = (pb.FULFILLED, pb.UNFULFILLABLE)
    return wait_for(lambda: (s := status(h, rid)).fulfillment_status in done and s,
                    timeout=60, what=f"request 0x{rid.hex()[:8]} to end")


def flipped_point(mode: str) -> bytes:
    data = bytearray(template_file(mode))
    body = bytes.fromhex(template(mode)["proof"][10:]).hex().encode()
    i = data.index(body) + 2 * (96 + 63) + 1  # the low hex digit of point A's y
    data[i:i + 1] = b"0" if data[i:i + 1] != b"0" else b"1"
    return bytes(data)


@needs_fixtures
def test_real_proofs_are_verified_fulfilled_and_downloaded_unchanged(make_hierophant, make_contemplant,
                                                                      tmp_path):
    h = hierophant(make_hierophant)
    proofs = {mode: template_file(mode) for mode in MODES}
    prover(make_contemplant, h, tmp_path, "honest", proofs)
    rids = {mode: request(h, mode, template_vk_hash(), n) for n, mode in enumerate(MODES)}
    for mode, rid in rids.items():
        assert wait_terminal(h, rid).fulfillment_status == pb.FULFILLED
        with NetworkClient(h.rpc_url, unsigned=True, profile=SDK_6_0) as c:
            assert c.wait_proof(rid) == proofs[mode]
        (record,) = history(h, rid)
        assert (record["outcome"], record["checked"]) == ("fulfilled", "verified"), record
        assert "proof verifies for vkey" in record["detail"]
    assert "proof checked: verified" in h.log()


@needs_fixtures
@pytest.mark.parametrize("tamper", ["flipped-bit", "public-values", "mock"])
def test_bad_proofs_are_struck_and_never_fulfilled(make_hierophant, make_contemplant, tmp_path, tamper):
    h = hierophant(make_hierophant, max_attempts=2, max_strikes=5)
    program = template_vk_hash()
    if tamper == "flipped-bit":
        bad, why = flipped_point("groth16"), "point A"
    elif tamper == "public-values":
        pv = bytearray.fromhex(template("groth16")["publicValues"][2:])
        pv[-1] ^= 1
        bad, why = template_file("groth16", pv=bytes(pv)), "public values"
    else:
        program = vk_hash(7)  # a mock's public inputs need the word form
        bad = mock_proof(4, "v6.0.0", program, b"\x01" * 8)
        why = "accept_mock_proofs is false"
    prover(make_contemplant, h, tmp_path, "liar", {"groth16": bad})
    rid = request(h, "groth16", program)
    assert wait_terminal(h, rid).fulfillment_status == pb.UNFULFILLABLE
    records = history(h, rid)
    assert [r["outcome"] for r in records] == ["bad-proof", "bad-proof"]
    assert all(why in r["detail"] for r in records), records
    (worker,) = h.contemplants()
    assert worker["strikes"] == 2


@needs_fixtures
def test_another_programs_proof_is_retried_once_elsewhere_then_ends_with_the_reason(
        make_hierophant, make_contemplant, tmp_path):
    h = hierophant(make_hierophant)
    for name in ("w1", "w2"):
        prover(make_contemplant, h, tmp_path, name, {"plonk": template_file("plonk")})
    wait_for(lambda: len(h.contemplants()) == 2, what="both workers")
    rid = request(h, "plonk", vk_hash(3))   # the request names another program
    s = wait_terminal(h, rid)
    assert s.fulfillment_status == pb.UNFULFILLABLE
    records = history(h, rid)
    assert [r["outcome"] for r in records] == ["vkey-mismatch", "vkey-mismatch"]
    assert {r["worker_name"] for r in records} == {"w1", "w2"}   # a different worker the second time
    assert all(w["strikes"] == 0 for w in h.contemplants())
    assert "does not match the program" in h.log()
    assert "a second worker's proof carries the same vkey" in h.log()


@needs_fixtures
def test_another_programs_proof_with_no_other_worker_ends_at_once(make_hierophant, make_contemplant,
                                                                   tmp_path):
    h = hierophant(make_hierophant)
    prover(make_contemplant, h, tmp_path, "only", {"groth16": template_file("groth16")})
    rid = request(h, "groth16", vk_hash(4))
    assert wait_terminal(h, rid).fulfillment_status == pb.UNFULFILLABLE
    assert [r["outcome"] for r in history(h, rid)] == ["vkey-mismatch"]
    assert h.contemplants()[0]["strikes"] == 0
    assert "no other worker serves it" in h.log()


STARK_PROVER = textwrap.dedent('''
    import os, struct
    from network_lib.bincode import SP1Stdin, encode_proof_from_network
    pv = SP1Stdin.decode(open(os.environ["PROVER_STDIN"], "rb").read()).buffers[0]
    body = struct.pack("<I", 1) + b"\\x07" * 64     # Compressed, not the mock prover's layout
    open(os.environ["PROVER_OUT"], "wb").write(
        encode_proof_from_network(body, pv, os.environ["PROVER_CIRCUIT_VERSION"]))
''')
STARK_VERIFIER = textwrap.dedent('''
    import os, sys
    print(f"{os.environ['HIEROPHANT_PROOF_MODE']} proof of {os.environ['HIEROPHANT_VK_HASH'][:10]}"
          f" looked at", file=sys.stderr)
    sys.exit(int(os.environ["VERDICT"]))
''')


@pytest.mark.parametrize("verdict", [0, 1])
def test_the_verification_command_decides_for_compressed_proofs(make_hierophant, make_contemplant,
                                                                tmp_path, verdict):
    verifier = tmp_path / "verifier.py"
    verifier.write_text(STARK_VERIFIER)
    h = make_hierophant(scheduler={**FAST, "max_attempts": 1},
                        verification={"accept_mock_proofs": False,
                                      "command": f"{sys.executable} {verifier}"},
                        start=False)
    h.start(env={"VERDICT": str(verdict)})
    script = tmp_path / "stark_prover.py"
    script.write_text(STARK_PROVER)
    c = make_contemplant(h, "stark", start=False)
    c.cfg["provers"] = [{"backend": "command", "command": f"{sys.executable} {script}",
                         "sp1_version": "6.4.0", "modes": [2]}]
    c.start()
    with NetworkClient(h.rpc_url, unsigned=True, profile=SDK_6) as cl:
        cl.register_program(vk_hash(8), vk(), elf())
        rid = cl.request_proof(vk_hash(8), stdin(42), "compressed")
    s = wait_terminal(h, rid)
    (record,) = history(h, rid)
    if verdict == 0:
        assert s.fulfillment_status == pb.FULFILLED
        assert record["checked"] == "verified" and "compressed proof of 0x00000008 looked at" in record["detail"]
    else:
        assert s.fulfillment_status == pb.UNFULFILLABLE
        assert record["outcome"] == "bad-proof"
        assert record["detail"] == "[verification] command exited 1: compressed proof of 0x00000008 looked at"
        assert h.contemplants()[0]["strikes"] == 1
