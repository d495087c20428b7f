"""The two forms of a program's `vk_hash` (sdk-network-contract.md §5, DESIGN.md "SP1 versions").

SDK 5.0.0-5.0.5 send the BN254 element itself (32 big-endian bytes below the BN254 scalar
modulus r); later SDKs send eight big-endian u32 field words, each below 2^31. Anything
else was not made by an SDK and is refused at CreateProgram.
"""
from __future__ import annotations

import struct

BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
WORD_LIMIT = 1 << 31
FORMS = ("eight big-endian u32 words, each below 2^31 (SDK 5.0.6+ and 6.x), or one BN254 scalar "
         "field element below r = 0x30644e72...f0000001 (SDK 5.0.0-5.0.5)")


def is_word_form(vk_hash: bytes) -> bool:
    return len(vk_hash) == 32 and all(w < WORD_LIMIT for w in struct.unpack(">8I", vk_hash))


def is_bn254_form(vk_hash: bytes) -> bool:
    return len(vk_hash) == 32 and int.from_bytes(vk_hash, "big") < BN254_R


def problem(vk_hash: bytes) -> str | None:
    """None for a vk_hash in either form; else a message naming both forms."""
    if len(vk_hash) != 32:
        return f"vk_hash must be 32 bytes, got {len(vk_hash)}"
    if is_word_form(vk_hash) or is_bn254_form(vk_hash):
        return None
    return f"vk_hash 0x{vk_hash.hex()} is in neither form an SDK sends: {FORMS}"
