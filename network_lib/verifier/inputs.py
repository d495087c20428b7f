"""SP1's public-input rules for Groth16/Plonk proofs (issue 10 "The rules").

Owns how a program vk hash, public values and a job nonce become BN254 field elements.
Pure functions, safe on any thread.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from network_lib.verifier.curve import R

_MASK_BYTE = 0x1F  # committed_values_digest: the top 3 bits of the first byte cleared


def _masked(digest: bytes) -> int:
    return int.from_bytes(bytes([digest[0] & _MASK_BYTE]) + digest[1:], "big")


def pv_digests(public_values: bytes) -> tuple[int, int]:
    """committed_values_digest candidates: sha256 first, then blake3 (SP1's fallback)."""
    import blake3

    pv = bytes(public_values)
    return _masked(hashlib.sha256(pv).digest()), _masked(blake3.blake3(pv).digest())


def fold_words(words: Sequence[int]) -> int:
    """r = r·2^31 + w over big-endian u32 words, first word first (``hash_bn254``)."""
    r = 0
    for w in words:
        r = (r << 31) + w
    return r


def vkey_readings(vk_hash: bytes) -> tuple[int, ...]:
    """A request's 32-byte vk_hash as the BN254 program vkey: eight u32 field words folded,
    or (SDK 5.0.0-5.0.5, and the on-chain ``vkey``) the element itself. Either may match."""
    vk_hash = bytes(vk_hash)
    if len(vk_hash) != 32:
        raise ValueError(f"vk hash must be 32 bytes, got {len(vk_hash)}")
    out = []
    words = struct.unpack(">8I", vk_hash)
    if all(w < 1 << 31 for w in words):
        out.append(fold_words(words))
    element = int.from_bytes(vk_hash, "big")
    if element < R and element not in out:
        out.append(element)
    return tuple(out)


def nonce_element(nonce: Sequence[int]) -> int:
    """The job's four u32 nonce words as the proof's ``proof_nonce`` input."""
    if len(nonce) != 4 or not all(0 <= w < 1 << 32 for w in nonce):
        raise ValueError(f"nonce must be four u32 words, got {list(nonce)!r}")
    return fold_words(nonce)


def parse_decimal(s: str, what: str) -> int:
    """A canonical decimal field element (what gnark's witness strings are)."""
    if not (s.isascii() and s.isdigit()) or (len(s) > 1 and s[0] == "0"):
        raise ValueError(f"{what} is not a canonical decimal: {s[:80]!r}")
    v = int(s)
    if v >= R:
        raise ValueError(f"{what} is not below the BN254 scalar field modulus")
    return v
