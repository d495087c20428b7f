"""Byte-exact SDK mock ``ProofFromNetwork`` builders (prover-backends.md §4).

The mock prover proves nothing: it wraps the executed public values in a proof shape the
client SDK deserializes (and whose Plonk/Groth16 public inputs its mock verifier checks).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Optional

from network_lib import versions
from network_lib.bincode import Writer, encode_proof_from_network
from network_lib.versions import ProofMode

KOALABEAR_P = 0x7F000001  # 2^31 - 2^24 + 1
V6_VK_LEN = 104  # prover-backends.md §3.7 (released build)
V6_VK_LEN_MPROTECT = 168  # same, built with feature `mprotect`
PV_HASH_MASK_BYTE = 0x1F


class MockProofError(ValueError):
    """The inputs cannot produce a mock proof (bad vk, bad vk_hash, unknown version)."""


# --- hashes (prover-backends.md §4.3) ---------------------------------------------------


def pv_hash_bn254(public_values: bytes) -> int:
    """sha256(pv) with the top 3 bits cleared, as a big-endian integer (< 2^253)."""
    h = bytearray(hashlib.sha256(public_values).digest())
    h[0] &= PV_HASH_MASK_BYTE
    return int.from_bytes(h, "big")


def vk_hash_words(vk_hash: bytes) -> tuple[int, ...]:
    """The 8 big-endian u32 field words of a network ``vk_hash`` (word form, §4.3)."""
    if len(vk_hash) != 32:
        raise MockProofError(f"vk_hash must be 32 bytes, got {len(vk_hash)}")
    words = struct.unpack(">8I", vk_hash)
    if any(w >= 1 << 31 for w in words):
        # SDK 5.0.0-5.0.5 send the BN254-reduced digest instead (sdk-network-contract.md §5).
        raise MockProofError(
            f"vk_hash {vk_hash.hex()} is not eight field words (< 2^31); "
            "mock public inputs need the word form"
        )
    return words


def vk_hash_bn254(vk_hash: bytes) -> int:
    """``vk.hash_bn254()``: fold the 8 words as r = r * 2^31 + w (no reduction needed)."""
    r = 0
    for w in vk_hash_words(vk_hash):
        r = (r << 31) + w
    return r


def vk_hash_string(vk_hash: bytes, circuit_version: str) -> str:
    """``public_inputs[0]``: v6 ``FFBn254Fr(0x<64 hex>)`` (ff_derive Debug), v5 decimal."""
    r = vk_hash_bn254(vk_hash)
    if versions.major(circuit_version) == 6:
        return f"FFBn254Fr(0x{r:064x})"
    return str(r)


def mock_public_inputs(vk_hash: bytes, public_values: bytes, circuit_version: str) -> list[str]:
    """Mock Plonk/Groth16 ``public_inputs`` (§4.2): v5 [vk, pv]; v6 [vk, pv, "0", "0", "0"]."""
    inputs = [vk_hash_string(vk_hash, circuit_version), str(pv_hash_bn254(public_values))]
    n = versions.plonk_public_inputs_count(circuit_version)
    return inputs + ["0"] * (n - len(inputs))


# --- SP1Proof bodies ----------------------------------------------------------------------


def _snark_proof(mode: ProofMode, vk_hash: bytes, pv: bytes, circuit_version: str) -> bytes:
    # prover-backends.md §4.5 step 4: tag, N strings, "" encoded, "" raw, [0; 32] vkey hash.
    w = Writer().u32(mode.proof_tag)
    for s in mock_public_inputs(vk_hash, pv, circuit_version):
        w.string(s)
    return w.string("").string("").raw(bytes(32)).getvalue()


def _zeros_ext(w: Writer) -> Writer:
    return w.raw(bytes(16))  # one degree-4 extension element


def _dummy_sumcheck(w: Writer) -> Writer:
    # PartialSumcheckProof::dummy(): polys u64 0, claimed_sum 0, point u64 0, eval 0 (48 B).
    return _zeros_ext(_zeros_ext(w.u64(0)).u64(0))


def _dummy_mle(w: Writer) -> Writer:
    # Mle = Tensor{storage: vec![0; 1] of ext, dimensions: [1, 1]} (40 B).
    return _zeros_ext(w.u64(1)).u64(1).u64(1)


def check_v6_vk(vk: Optional[bytes]) -> bytes:
    """The registered v6 ``vk`` (bincode(SP1VerifyingKey)) as the MachineVerifyingKey bytes.

    ``SP1VerifyingKey { vk }`` is a newtype struct, so its bincode *is* the
    MachineVerifyingKey: 104 bytes (168 with feature ``mprotect``), all KoalaBear words.
    """
    if vk is None:
        raise MockProofError("a v6 mock Compressed proof needs the program's vk bytes")
    vk = bytes(vk)
    if len(vk) not in (V6_VK_LEN, V6_VK_LEN_MPROTECT):
        raise MockProofError(
            f"v6 vk must be {V6_VK_LEN} bytes (or {V6_VK_LEN_MPROTECT} with mprotect), "
            f"got {len(vk)}; is it a v5 vk?"
        )
    words = struct.unpack(f"<{len(vk) // 4}I", vk)
    bad = next((i for i, x in enumerate(words) if x >= KOALABEAR_P), None)
    if bad is not None:
        raise MockProofError(
            f"v6 vk word {bad} (offset {4 * bad}) = {words[bad]:#x} is not a canonical "
            "KoalaBear element"
        )
    return vk


def v6_compressed_proof(vk: Optional[bytes]) -> bytes:
    """``SP1Proof::Compressed(create_dummy_recursion_proof(vk))`` (prover-backends.md §4.6a)."""
    w = Writer().u32(versions.PROOF_TAG_COMPRESSED).raw(check_v6_vk(vk))  # off 0, 4
    w.u64(0).raw(bytes(32))  # 108 public_values, 116 main_commitment
    _dummy_mle(_dummy_mle(w))  # 148 / 188 logup_gkr circuit_output numerator / denominator
    w.u64(0)  # 228 round_proofs
    _zeros_ext(w.u64(1))  # 236 logup_evaluations.point = Point::from_usize(0, 1)
    w.u64(0).u32(0)  # 260 chip_openings, 268 witness
    _dummy_sumcheck(w)  # 272 zerocheck_proof
    w.u64(0)  # 320 opened_values.chips
    w.u64(0).u64(0).u64(0).u64(0)  # 328 basefold vectors
    _zeros_ext(w)  # 360 basefold.final_poly
    w.u32(0).u32(0)  # 376 pow_witness, batch_grinding_witness
    w.u64(0)  # 384 batch_evaluations
    _dummy_sumcheck(_dummy_sumcheck(w))  # 392 jagged sumcheck, 440 jagged eval sumcheck
    w.u64(0).u64(0)  # 488 row/column counts, merkle_tree_commitments
    _zeros_ext(w)  # 504 expected_eval
    w.u64(1).u64(1)  # 520 max_log_row_count, log_m
    w.u64(0).u64(0)  # 536 vk_merkle_proof index, path
    return w.getvalue()  # 552 with a 104-byte vk


# SepticDigest::zero() start point, BabyBear canonical (prover-backends.md §4.6b).
_V5_START_X = (0x1434213, 0x5623730, 0x9504880, 0x1688724, 0x2096980, 0x7856967, 0x1875376)
_V5_START_Y = (885797405, 1130275556, 567836311, 52700240, 239639200, 442612155, 1839439733)


def v5_compressed_proof() -> bytes:
    """The program-independent v5 dummy ``SP1ReduceProof`` (prover-backends.md §4.6b, 276 B)."""
    w = Writer().u32(versions.PROOF_TAG_COMPRESSED)
    w.raw(bytes(32)).u32(0)  # vk.commit, pc_start
    for x in _V5_START_X + _V5_START_Y:
        w.u32(x)
    w.u64(0).u64(0)  # chip_information, chip_ordering
    w.raw(bytes(96)).u64(0)  # main/permutation/quotient commits, opened_values.chips
    w.u64(0).u64(0).raw(bytes(16)).u32(0)  # fri: commits, query_proofs, final_poly, pow
    w.u64(0).u64(0).u64(0)  # query_openings, chip_ordering, public_values
    return w.getvalue()


def mock_sp1_proof(
    mode: int | ProofMode,
    circuit_version: str,
    vk_hash: Optional[bytes],
    public_values: bytes,
    vk: Optional[bytes] = None,
) -> bytes:
    """The mock ``SP1Proof`` (tag included) for a mode and circuit version."""
    mode = ProofMode.parse(mode)
    major = versions.major(circuit_version)
    if mode is ProofMode.CORE:
        return Writer().u32(versions.PROOF_TAG_CORE).u64(0).getvalue()  # Core(vec![])
    if mode is ProofMode.COMPRESSED:
        return v6_compressed_proof(vk) if major == 6 else v5_compressed_proof()
    if vk_hash is None:
        raise MockProofError(f"a mock {mode.name} proof needs the vk_hash")
    return _snark_proof(mode, bytes(vk_hash), public_values, circuit_version)


def mock_proof(
    mode: int | ProofMode,
    circuit_version: str,
    vk_hash: Optional[bytes],
    public_values: bytes,
    vk: Optional[bytes] = None,
) -> bytes:
    """``bincode(ProofFromNetwork)`` exactly as the SDK mock prover would produce it.

    ``vk_hash`` (32-byte word form) is needed for Plonk/Groth16, ``vk`` for v6 Compressed.
    """
    proof = mock_sp1_proof(mode, circuit_version, vk_hash, public_values, vk)
    return encode_proof_from_network(proof, public_values, circuit_version)
