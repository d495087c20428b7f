"""Moongate payloads: bincode of v5 types inside the twirp `data`/`result` bytes
(prover-backends.md §2.3), built and sliced without parsing proofs (§2.5)."""
from __future__ import annotations

import struct

from network_lib.bincode import BincodeError, Reader, SP1Stdin, Writer, encode_proof_tail
from network_lib.versions import PROOF_TAG_COMPRESSED, PROOF_TAG_CORE, V5_0_0

_U64 = struct.Struct("<Q")
MAX_VK_BYTES = 1 << 20          # the generic pk/vk split scans vk lengths up to this


class PayloadError(ValueError):
    """A moongate result that does not have the expected shape."""


def setup_request(elf: bytes) -> bytes:
    """SetupRequestPayload { elf: Vec<u8> }."""
    return Writer().bytes(elf).getvalue()


def prove_core_request(stdin: bytes, pk: bytes) -> bytes:
    """StatelessProveCoreRequestPayload { stdin, pk } (stdin first, §2.3)."""
    return stdin + pk


def compress_request(vk: bytes, core_proof: bytes) -> bytes:
    """CompressRequestPayload { vk, proof, deferred_proofs: [] } (§2.4 step 3, no deferred proofs)."""
    return vk + core_proof + _U64.pack(0)


def canonical_stdin(stdin: bytes) -> SP1Stdin:
    """The stdin as moongate will echo it (ptr and trailing bytes normalised)."""
    try:
        s = SP1Stdin.decode(stdin)
    except BincodeError as e:
        raise PayloadError(f"stdin is not SP1Stdin bincode: {e}") from None
    s.ptr = 0
    return s


def v5_vk_length(data: bytes, offset: int) -> int:
    """Bytes of one v5 SP1VerifyingKey at `offset` (§3.7); BincodeError if it does not parse."""
    r = Reader(data, offset)
    r.raw(32 + 4 + 56, "vk commit, pc_start, digest")
    chips = r.u64("chip count")
    if chips * 36 > r.remaining:
        raise BincodeError("chip count exceeds the bytes left")
    for _ in range(chips):
        r.bytes("chip name")
        r.raw(8 + 4 + 8 + 8, "chip domain and dimensions")
    ordering = r.u64("chip ordering count")
    if ordering * 16 > r.remaining:
        raise BincodeError("chip ordering count exceeds the bytes left")
    for _ in range(ordering):
        r.bytes("chip ordering name")
        r.u64("chip ordering index")
    return r.offset - offset


def split_setup_result(result: bytes, elf: bytes) -> tuple[bytes, bytes]:
    """SetupResponsePayload = pk ‖ vk, where pk = {…, elf: Vec<u8>, vk} ends with a copy of vk
    (§2.3). Anchored on the ELF we sent; else the generic scan over vk lengths."""
    anchor = Writer().bytes(elf).getvalue()
    at = result.rfind(anchor)
    if at >= 0:
        tail = len(result) - at - len(anchor)
        if tail % 2 == 0 and tail and _is_vk_pair(result, tail // 2):
            return result[:len(result) - tail // 2], result[len(result) - tail // 2:]
    for n in range(108, min(len(result) // 2, MAX_VK_BYTES) + 1):
        if _is_vk_pair(result, n):
            return result[:-n], result[-n:]
    raise PayloadError(f"Setup result ({len(result)} bytes) does not end with pk.vk ‖ vk")


def _is_vk_pair(result: bytes, n: int) -> bool:
    try:
        if v5_vk_length(result, len(result) - n) != n:
            return False
    except BincodeError:
        return False
    return result[-2 * n:-n] == result[-n:]


def split_core_proof(result: bytes, stdin: bytes) -> tuple[bytes, bytes, int]:
    """SP1CoreProof = shards ‖ stdin ‖ public values ‖ cycles (§2.3): (shards, pv, cycles).

    `stdin` is the canonical bincode we sent; the server echoes it just before the public
    values, which locates them."""
    if len(result) < len(stdin) + 16 + 8:
        raise PayloadError(f"ProveCore result of {len(result)} bytes is too short")
    cycles = _U64.unpack(result[-8:])[0]
    end = len(result) - 8
    at = result.rfind(stdin, 0, end - 8)
    while at >= 0:
        pv_len_at = at + len(stdin)
        (pv_len,) = _U64.unpack_from(result, pv_len_at)
        if pv_len_at + 8 + pv_len == end:
            shards = result[:at]
            if len(shards) < 8:
                break
            return shards, result[pv_len_at + 8:end], cycles
        at = result.rfind(stdin, 0, at + len(stdin) - 1)
    raise PayloadError("ProveCore result does not end with the stdin we sent, public values and cycles")


def core_proof_from_network(shards: bytes, public_values: bytes) -> bytes:
    """ProofFromNetwork { SP1Proof::Core(shards), pv, "v5.0.0" } (§2.3, §3.4)."""
    return _u32(PROOF_TAG_CORE) + shards + encode_proof_tail(public_values, V5_0_0)


def compressed_proof_from_network(reduce_proof: bytes, public_values: bytes) -> bytes:
    """ProofFromNetwork { SP1Proof::Compressed(reduce proof), pv, "v5.0.0" } (§2.3, §3.4)."""
    if not reduce_proof:
        raise PayloadError("Compress returned an empty proof")
    return _u32(PROOF_TAG_COMPRESSED) + reduce_proof + encode_proof_tail(public_values, V5_0_0)


def _u32(v: int) -> bytes:
    return struct.pack("<I", v)
