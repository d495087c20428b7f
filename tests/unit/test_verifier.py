"""The Python SP1 verifier against the real Groth16/Plonk proofs in ../shared/fixtures/proofs:
each verifies, and each tampering is refused with a reason naming it."""

from __future__ import annotations

import hashlib
import json

import pytest

from network_lib.verifier import cli, curve, verify_onchain, verify_proof_file
from network_lib.verifier.backends import PyEccBackend
from network_lib.verifier.inputs import (
    fold_words,
    nonce_element,
    parse_decimal,
    vkey_readings,
)
from network_lib.verifier.keys import VK_ROOTS, all_keys, circuit_key
from network_lib.verifier.report import CHECKS
from tests.verifier_fixtures import (
    PROOFS,
    V5_GROTH16,
    V5_VKEY,
    snark_file,
    template,
    template_file,
)

needs_fixtures = pytest.mark.skipif(not PROOFS.is_dir(), reason="../shared/fixtures absent")

# Point offsets in the on-chain bytes of the v6 template proofs (4 prefix + 96 meta).
GROTH16_POINTS = {"A": 100, "B": 164, "C": 292}
PLONK_POINTS = {"L": 100, "R": 164, "O": 228, "H0": 292, "H1": 356, "H2": 420, "Z": 644,
                "batched opening H": 740, "shifted opening H": 804,
                "BSB22 commitment 0": 900}


def onchain(mode: str, proof: bytes | None = None, pv: bytes | None = None, vkey=None, **kw):
    t = template(mode)
    return verify_onchain(vkey or t["vkey"], t["publicValues"] if pv is None else pv,
                          t["proof"] if proof is None else proof, **kw)


def proof_bytes(mode: str) -> bytearray:
    return bytearray.fromhex(template(mode)["proof"][2:])


def flipped(data: bytes, offset: int, bit: int = 0) -> bytes:
    b = bytearray(data)
    b[offset] ^= 1 << bit
    return bytes(b)


# --- keys and rules (no fixtures needed) -------------------------------------------------


def test_shipped_keys_have_the_published_prefixes():
    prefixes = {(k.circuit_version, k.mode): k.prefix.hex() for k in all_keys()}
    assert prefixes == {
        ("v5.0.0", "groth16"): "a4594c59", ("v5.0.0", "plonk"): "d4e8ecd2",
        ("v6.0.0", "groth16"): "0e78f4db", ("v6.0.0", "plonk"): "bb1a6f29",
        ("v6.1.0", "groth16"): "4388a21c", ("v6.1.0", "plonk"): "5a093a2f",
    }
    assert len(circuit_key("v6.1.0", "groth16").key.k) == 6
    assert circuit_key("v5.0.0", "plonk").key.nb_public == 2


@needs_fixtures
def test_shipped_keys_equal_the_fixture_keys():
    for k in all_keys():
        data = (PROOFS / "vk" / k.circuit_version / f"{k.mode}_vk.bin").read_bytes()
        assert hashlib.sha256(data).digest() == k.vkey_hash


def test_compressed_point_flags_pick_the_y():
    x, y = 1, 2  # the G1 generator; 2 is the smaller of ±2
    assert curve.g1_compressed(bytes([0x80]) + bytes(31)[:-1] + b"\x01", "g") == (x, y)
    assert curve.g1_compressed(bytes([0xC0]) + bytes(30) + b"\x01", "g") == (x, curve.P - y)
    assert curve.g1_compressed(bytes([0x40]) + bytes(31), "g") is None
    with pytest.raises(curve.PointError, match="flag bits 00"):
        curve.g1_compressed(bytes(31) + b"\x01", "g")
    with pytest.raises(curve.PointError, match="infinity flag"):
        curve.g1_compressed(bytes([0x40]) + bytes(30) + b"\x01", "g")


def test_vk_hash_readings_and_nonce_folding():
    words = [0x004A55ED, 1, 2, 3, 4, 5, 6, 7]
    vk = b"".join(w.to_bytes(4, "big") for w in words)
    assert vkey_readings(vk) == (fold_words(words), int.from_bytes(vk, "big"))
    big = bytes(4) + bytes([0x80]) + bytes(27)  # a word >= 2^31: only the element reading
    assert vkey_readings(big) == (int.from_bytes(big, "big"),)
    assert nonce_element([0, 0, 0, 1]) == 1 and nonce_element([1, 0, 0, 0]) == 1 << 93
    with pytest.raises(ValueError, match="four u32"):
        nonce_element([1, 2, 3])
    assert parse_decimal("42", "x") == 42
    for bad in ("042", "0x2a", "-1", "4 2", str(curve.R)):
        with pytest.raises(ValueError):
            parse_decimal(bad, "x")


# --- the real proofs verify --------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_template_onchain_proof_verifies(mode):
    r = onchain(mode, nonce=[0, 0, 0, 0])
    assert r.valid, r.reason
    assert (r.mode, r.circuit_version, r.check) == (mode, "v6.0.0", None)
    assert r.proof_vkey == template(mode)["vkey"]


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_template_proof_file_verifies(mode):
    r = verify_proof_file(template_file(mode), template(mode)["vkey"], nonce=[0, 0, 0, 0])
    assert r.valid, r.reason


@needs_fixtures
def test_v5_proof_file_verifies_for_either_vk_hash_reading():
    data = V5_GROTH16.read_bytes()
    r = verify_proof_file(data, V5_VKEY.to_bytes(32, "big"))
    assert r.valid and (r.mode, r.circuit_version) == ("groth16", "v5.0.0"), r.reason
    # The word form: eight u32 words < 2^31 folding (r·2^31 + w) to the same element.
    words, v = [], V5_VKEY
    for _ in range(8):
        words.insert(0, v & (2**31 - 1))
        v >>= 31
    assert v == 0
    word_form = b"".join(w.to_bytes(4, "big") for w in words)
    assert verify_proof_file(data, word_form).valid


@needs_fixtures
def test_v5_proof_file_with_save_tail_verifies():
    # The fixture is SP1ProofWithPublicValues (tee_proof None); ProofFromNetwork lacks the 00.
    data = V5_GROTH16.read_bytes()
    assert data.endswith(b"v5.0.0\x00")
    assert verify_proof_file(data[:-1], V5_VKEY.to_bytes(32, "big")).valid


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_python_reference_backend_agrees(mode):
    t, backend = template(mode), PyEccBackend()
    good = verify_onchain(t["vkey"], t["publicValues"], t["proof"], backend=backend)
    assert good.valid, good.reason
    proof = bytearray.fromhex(t["proof"][2:])
    proof[-1] ^= 1   # the last byte of a G1 point's y: then no longer on the curve
    bad = verify_onchain(t["vkey"], t["publicValues"], bytes(proof), backend=backend)
    assert bad.check == "point"
    other_pv = verify_onchain(t["vkey"], "0x01", t["proof"], backend=backend)
    assert other_pv.check == "pairing"


@needs_fixtures
def test_random_corruption_always_gives_a_report():
    import random

    rng = random.Random(10)
    data = V5_GROTH16.read_bytes()
    vk = V5_VKEY.to_bytes(32, "big")
    invalid = 0
    for _ in range(150):
        b = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        r = verify_proof_file(bytes(b), vk)
        assert r.check in (None, *CHECKS) and r.reason
        invalid += not r.valid
    assert invalid > 100   # raw_proof is not verified: a change there alone is harmless


# --- tampering: each refused with a reason naming it ---------------------------------------


@needs_fixtures
@pytest.mark.parametrize("mode,points", [("groth16", GROTH16_POINTS), ("plonk", PLONK_POINTS)])
def test_a_flipped_bit_in_each_point_is_refused(mode, points):
    for name, off in points.items():
        for where in (off + 31, off + 63):  # the low bit of x, then of y (x.A0 / x.A1 on G2)
            r = onchain(mode, proof=flipped(proof_bytes(mode), where))
            assert not r.valid, (name, where)
            assert r.check in ("point", "pairing"), (name, r.reason)
            if r.check == "point":
                assert f"point {name}:" in r.reason, r.reason


@needs_fixtures
def test_a_flipped_bit_in_a_plonk_claimed_value_fails_the_pairing():
    r = onchain("plonk", proof=flipped(proof_bytes("plonk"), 100 + 384 + 31))
    assert (r.valid, r.check) == (False, "pairing")


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_changed_public_values_are_refused(mode):
    pv = bytearray.fromhex(template(mode)["publicValues"][2:])
    pv[-1] ^= 1
    r = onchain(mode, pv=bytes(pv))
    assert (r.valid, r.check) == (False, "pairing")
    assert "public values" in r.reason
    r = verify_proof_file(template_file(mode, pv=bytes(pv)), template(mode)["vkey"])
    assert (r.valid, r.check) == (False, "public_values")
    assert "public values" in r.reason


@needs_fixtures
def test_changed_public_values_in_the_v5_file_are_refused():
    data = bytearray(V5_GROTH16.read_bytes())
    i = data.index(bytes.fromhex("140000006d1a0000d30b0000"))
    data[i] ^= 1
    r = verify_proof_file(bytes(data), V5_VKEY.to_bytes(32, "big"))
    assert (r.valid, r.check) == (False, "public_values")
    r = verify_proof_file(V5_GROTH16.read_bytes(), V5_VKEY.to_bytes(32, "big"),
                          expected_public_values=bytes(12))
    assert (r.valid, r.check) == (False, "public_values")
    assert "executed" in r.reason


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_another_programs_vkey_is_refused(mode):
    other = "0x" + "00" + "11" * 31
    r = onchain(mode, vkey=other)
    assert (r.valid, r.check) == (False, "pairing") and other in r.reason
    r = verify_proof_file(template_file(mode), other)
    assert (r.valid, r.check) == (False, "vkey")
    assert "vk hash does not match the program" in r.reason
    assert r.proof_vkey == template(mode)["vkey"]


@needs_fixtures
def test_v5_proof_for_another_vk_hash_is_refused():
    r = verify_proof_file(V5_GROTH16.read_bytes(), "0x" + "00" + "22" * 31)
    assert (r.valid, r.check) == (False, "vkey")


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_another_versions_prefix_is_refused(mode):
    for version in ("v5.0.0", "v6.1.0"):
        proof = proof_bytes(mode)
        proof[:4] = circuit_key(version, mode).prefix
        r = onchain(mode, proof=bytes(proof))
        assert not r.valid and r.circuit_version == version
        assert r.check in ("format", "vk_root"), r.reason
        assert version in r.reason or "bytes" in r.reason
    proof = proof_bytes(mode)
    proof[:4] = b"\xde\xad\xbe\xef"
    r = onchain(mode, proof=bytes(proof))
    assert (r.valid, r.check) == (False, "prefix") and "deadbeef" in r.reason


@needs_fixtures
def test_a_proof_file_with_another_versions_key_hash_is_refused():
    t = template("groth16")
    data = snark_file("groth16", ["1"] * 5, bytes.fromhex(t["proof"][10:]), b"",
                      vkey_hash=circuit_key("v6.1.0", "groth16").vkey_hash)
    r = verify_proof_file(data, t["vkey"])
    assert (r.valid, r.check) == (False, "prefix") and "v6.0.0" in r.reason


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_exit_code_1_is_refused(mode):
    proof = proof_bytes(mode)
    proof[4 + 31] = 1
    r = onchain(mode, proof=bytes(proof))
    assert (r.valid, r.check) == (False, "exit_code") and "exit code is 1" in r.reason


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_another_vk_root_is_refused(mode):
    proof = proof_bytes(mode)
    proof[36:68] = VK_ROOTS["v6.1.0"].to_bytes(32, "big")
    r = onchain(mode, proof=bytes(proof))
    assert (r.valid, r.check) == (False, "vk_root") and "v6.0.0" in r.reason


@needs_fixtures
@pytest.mark.parametrize("mode", ["groth16", "plonk"])
def test_another_nonce_is_refused(mode):
    r = onchain(mode, nonce=[0, 0, 0, 1])
    assert (r.valid, r.check) == (False, "nonce") and "nonce" in r.reason
    proof = proof_bytes(mode)
    proof[4 + 64 + 31] = 5  # the proof claims nonce 5: refused for the job's nonce 0 ...
    r = onchain(mode, proof=bytes(proof), nonce=[0, 0, 0, 0])
    assert (r.valid, r.check) == (False, "nonce")
    r = onchain(mode, proof=bytes(proof))  # ... and, unchecked, fails the pairing
    assert (r.valid, r.check) == (False, "pairing")


@needs_fixtures
def test_public_inputs_strings_must_be_canonical_and_match_the_encoded_words():
    t = template("groth16")
    onchain_bytes = bytes.fromhex(t["proof"][2:])
    pv = bytes.fromhex(t["publicValues"][2:])
    good = verify_proof_file(template_file("groth16"), t["vkey"])
    assert good.valid
    from network_lib.verifier.inputs import pv_digests

    base = [str(int(t["vkey"], 16)), str(pv_digests(pv)[0]), "0", str(VK_ROOTS["v6.0.0"]), "0"]
    hexed = [f"0x{int(t['vkey'], 16):x}", *base[1:]]
    r = verify_proof_file(snark_file("groth16", hexed, onchain_bytes[4:], pv), t["vkey"])
    assert (r.valid, r.check) == (False, "public_inputs") and "public_inputs[0]" in r.reason
    nonce1 = [*base[:4], "1"]
    r = verify_proof_file(snark_file("groth16", nonce1, onchain_bytes[4:], pv), t["vkey"])
    assert (r.valid, r.check) == (False, "public_inputs") and "encoded_proof" in r.reason


@needs_fixtures
def test_a_mock_proof_is_not_valid():
    from network_lib.mockproof import mock_proof

    vk_hash = bytes(range(32))
    data = mock_proof(4, "v6.1.0", vk_hash, b"pv")  # Groth16 mock: empty encoded_proof
    r = verify_proof_file(data, vk_hash)
    assert (r.valid, r.check) == (False, "format") and "mock" in r.reason


# --- hierophant-verify ---------------------------------------------------------------------


def _cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr().out.strip().splitlines()
    return code, out[0], json.loads(out[-1]) if "--json" in argv else None


@needs_fixtures
def test_cli_verifies_the_json_and_bincode_forms(capsys, tmp_path):
    code, line, doc = _cli(capsys, PROOFS / "template-fibonacci-plonk-v6.0.0.json", "--json")
    assert code == 0 and line.startswith("VALID (plonk v6.0.0)")
    assert doc["valid"] is True and doc["mode"] == "plonk" and doc["circuit_version"] == "v6.0.0"
    vk = f"0x{V5_VKEY:064x}"
    code, line, doc = _cli(capsys, V5_GROTH16, "--vk-hash", vk, "--json")
    assert code == 0 and doc["valid"] and doc["reason"]
    path = tmp_path / "proof.bin"
    path.write_bytes(template_file("groth16"))
    assert _cli(capsys, path, "--vk-hash", template("groth16")["vkey"], "--nonce", "0,0,0,0")[0] == 0


@needs_fixtures
def test_cli_exit_1_for_an_invalid_proof(capsys, tmp_path):
    t = template("groth16")
    t["publicValues"] = t["publicValues"][:-2] + "00"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(t))
    code, line, doc = _cli(capsys, path, "--json")
    assert code == 1 and line.startswith("INVALID") and doc["valid"] is False
    assert set(doc) >= {"valid", "mode", "circuit_version", "reason"}
    code, _, doc = _cli(capsys, V5_GROTH16, "--vk-hash", "0x" + "33" * 32, "--json")
    assert code == 1 and doc["check"] == "vkey"


def test_cli_exit_2_for_unusable_input(capsys, tmp_path):
    assert _cli(capsys, tmp_path / "missing.bin", "--vk-hash", "0x" + "00" * 32)[0] == 2
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x00\x00\x00junk")  # SP1Proof tag 0 = Core
    code, _line, doc = _cli(capsys, junk, "--vk-hash", "0x" + "00" * 32, "--json")
    assert code == 2 and "Core" in doc["reason"]
    assert _cli(capsys, junk)[0] == 2  # bincode without --vk-hash
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"vkey": "0x00"}')
    assert _cli(capsys, bad_json)[0] == 2
