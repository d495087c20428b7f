"""bincode 1.x primitives and the few SP1 shapes the network touches.

Rules (prover-backends.md §0.1): little-endian, fixed-width integers, ``usize`` = u64,
``Vec``/``String``/``&[u8]`` = u64 count + elements, fixed arrays without a length,
``Option`` = 1-byte 0/1 + value, enum = u32 variant index.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

from network_lib import versions

T = TypeVar("T")

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
U64_MAX = (1 << 64) - 1


class BincodeError(ValueError):
    """Malformed or truncated bincode."""


class ProofFormatError(ValueError):
    """A ProofFromNetwork that does not match what the request demands."""


class PublicValuesMismatch(ProofFormatError):
    """The proof's public values differ from the expected (executed) ones."""


class Writer:
    """Append-only bincode encoder."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> "Writer":
        self._parts.append(bytes((_check_range(v, 0xFF, "u8"),)))
        return self

    def u32(self, v: int) -> "Writer":
        self._parts.append(_U32.pack(_check_range(v, 0xFFFFFFFF, "u32")))
        return self

    def u64(self, v: int) -> "Writer":
        self._parts.append(_U64.pack(_check_range(v, U64_MAX, "u64")))
        return self

    def raw(self, b: bytes) -> "Writer":
        """Bytes with no length prefix (fixed arrays, pre-encoded values)."""
        self._parts.append(bytes(b))
        return self

    def bytes(self, b: bytes) -> "Writer":
        """``Vec<u8>`` / ``&[u8]``: u64 length + bytes."""
        return self.u64(len(b)).raw(b)

    def string(self, s: str) -> "Writer":
        return self.bytes(s.encode("utf-8"))

    def option(self, v: Optional[T], write: Callable[["Writer", T], object]) -> "Writer":
        if v is None:
            return self.u8(0)
        self.u8(1)
        write(self, v)
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def _check_range(v: int, hi: int, kind: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
        raise BincodeError(f"{kind} out of range: {v!r}")
    return v


class Reader:
    """Cursor over bincode bytes; every read names what it reads for error messages."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self._data = memoryview(bytes(data))
        self.offset = offset

    @property
    def remaining(self) -> int:
        return len(self._data) - self.offset

    def at_end(self) -> bool:
        return self.remaining == 0

    def raw(self, n: int, what: str = "bytes") -> bytes:
        if n > self.remaining:
            raise BincodeError(
                f"truncated {what}: need {n} bytes at offset {self.offset}, "
                f"only {self.remaining} left"
            )
        out = self._data[self.offset:self.offset + n].tobytes()
        self.offset += n
        return out

    def u8(self, what: str = "u8") -> int:
        return self.raw(1, what)[0]

    def u32(self, what: str = "u32") -> int:
        return _U32.unpack(self.raw(4, what))[0]

    def u64(self, what: str = "u64") -> int:
        return _U64.unpack(self.raw(8, what))[0]

    def length(self, what: str) -> int:
        """A u64 byte length that must fit in the remaining input."""
        start = self.offset
        n = self.u64(f"length of {what}")
        if n > self.remaining:
            raise BincodeError(
                f"truncated {what}: length {n} at offset {start} exceeds the "
                f"{self.remaining} bytes left"
            )
        return n

    def bytes(self, what: str = "byte vector") -> bytes:
        return self.raw(self.length(what), what)

    def string(self, what: str = "string") -> str:
        start = self.offset
        b = self.bytes(what)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            raise BincodeError(f"{what} at offset {start} is not valid UTF-8") from None

    def option(self, read: Callable[["Reader"], T], what: str = "option") -> Optional[T]:
        start = self.offset
        flag = self.u8(f"{what} flag")
        if flag == 0:
            return None
        if flag != 1:
            raise BincodeError(f"invalid {what} flag {flag} at offset {start}")
        return read(self)

    def rest(self) -> bytes:
        return self.raw(self.remaining)

    def expect_end(self, what: str = "value") -> None:
        if self.remaining:
            raise BincodeError(
                f"{self.remaining} trailing bytes after {what} at offset {self.offset}"
            )


# --- SP1Stdin (prover-backends.md §3.1) -------------------------------------------------

EMPTY_PROOFS = bytes(8)  # u64 0: no deferred proofs


@dataclass
class SP1Stdin:
    """``SP1Stdin { buffer: Vec<Vec<u8>>, ptr: usize, proofs: Vec<(Proof, Vk)> }``.

    ``proofs_raw`` is the opaque encoding of the proofs vector *including* its u64 count
    (the proof/vk types are version-specific and never parsed here).
    """

    buffers: list[bytes] = field(default_factory=list)
    ptr: int = 0
    proofs_raw: bytes = EMPTY_PROOFS

    @property
    def proof_count(self) -> int:
        return Reader(self.proofs_raw).u64("SP1Stdin proof count")

    def encode(self) -> bytes:
        w = Writer().u64(len(self.buffers))
        for buf in self.buffers:
            w.bytes(buf)
        w.u64(self.ptr)
        if len(self.proofs_raw) < 8:
            raise BincodeError("SP1Stdin.proofs_raw must start with its u64 count")
        return w.raw(self.proofs_raw).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SP1Stdin":
        """Parse; with 0 deferred proofs nothing may follow, else the rest is ``proofs_raw``."""
        r = Reader(data)
        n = r.u64("SP1Stdin buffer count")
        buffers = [r.bytes(f"SP1Stdin buffer {i}") for i in range(n)]
        ptr = r.u64("SP1Stdin ptr")
        proofs_start = r.offset
        count = r.u64("SP1Stdin proof count")
        if count == 0:
            r.expect_end("SP1Stdin")
        r.offset = proofs_start
        return cls(buffers=buffers, ptr=ptr, proofs_raw=r.rest())


def sp1stdin_file_problem(path: str | os.PathLike) -> Optional[str]:
    """None when the file holds one SP1Stdin (prover-backends.md §3.1, v5 and v6 alike up to
    the deferred proofs, which stay opaque); else what is wrong. Reads only the lengths, so a
    large stdin costs a few seeks."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size

        def u64(what: str) -> int:
            at, b = f.tell(), f.read(8)
            if len(b) < 8:
                raise BincodeError(f"the data ends at byte {size}, before {what} (a u64 at byte {at})")
            return int.from_bytes(b, "little")
        try:
            n = u64("the buffer count")
            if n > (size - 8) // 8:
                raise BincodeError(f"it announces {n} buffers, more than {size} bytes can hold")
            for i in range(n):
                length = u64(f"the length of buffer {i}")
                if length > size - f.tell():
                    raise BincodeError(f"buffer {i} of {length} bytes runs past the end ({size} bytes)")
                f.seek(length, os.SEEK_CUR)
            u64("ptr")
            proofs = u64("the deferred-proof count")
        except BincodeError as e:
            return str(e)
        rest = size - f.tell()
        if proofs == 0 and rest:
            return f"{rest} bytes follow the end of the SP1Stdin"
        if proofs and not rest:
            return f"it announces {proofs} deferred proofs but none follow"
        return None


# --- program artifact (sdk-network-contract.md §4.3) ------------------------------------


def encode_elf_artifact(elf: bytes) -> bytes:
    """bincode(&[u8]): u64 length + ELF."""
    return Writer().bytes(elf).getvalue()


def decode_elf_artifact(data: bytes) -> bytes:
    """Raw ELF from a program artifact; the length prefix must match the size exactly."""
    r = Reader(data)
    elf = r.bytes("ELF")
    r.expect_end("ELF artifact")
    return elf


# --- ProofFromNetwork (sdk-network-contract.md §4.6, prover-backends.md §3.4/§3.5) -------


def encode_proof_tail(public_values: bytes, sp1_version: str) -> bytes:
    """``SP1PublicValues`` (u64 len + bytes) then ``sp1_version`` (u64 len + UTF-8)."""
    return Writer().bytes(public_values).string(sp1_version).getvalue()


def encode_proof_from_network(
    proof_bytes_with_tag: bytes, public_values: bytes, sp1_version: str
) -> bytes:
    """``ProofFromNetwork { proof: SP1Proof, public_values, sp1_version }``."""
    if len(proof_bytes_with_tag) < 4:
        raise BincodeError("SP1Proof must start with its u32 tag")
    return bytes(proof_bytes_with_tag) + encode_proof_tail(public_values, sp1_version)


@dataclass(frozen=True)
class ProofInfo:
    """What :func:`inspect_proof` learned. ``public_values`` is None when it cannot be
    located (Core/Compressed without ``expected_public_values``, see inspect_proof)."""

    tag: int
    public_values: Optional[bytes]
    sp1_version: str
    public_inputs: Optional[tuple[str, ...]] = None  # Plonk/Groth16 only


def inspect_proof(
    data: bytes,
    *,
    mode: int | versions.ProofMode,
    circuit_version: str,
    expected_public_values: Optional[bytes] = None,
) -> ProofInfo:
    """Validate a ``bincode(ProofFromNetwork)`` against the request's mode and version.

    Checks the u32 SP1Proof tag against ``mode``; that the proof ends with
    ``u64 len ‖ public values ‖ u64 len ‖ sp1_version`` with ``sp1_version ==
    circuit_version``; and, for Plonk/Groth16, that every field parses with nothing
    trailing. When ``expected_public_values`` is given, the public values must equal it
    (:class:`PublicValuesMismatch`).

    Core/Compressed middles are opaque here, so their public values are found only
    when that is unambiguous: with ``expected_public_values`` (the bytes before the
    version must be exactly ``u64 len(pv) ‖ pv``) or for an empty Core proof
    (``Core(vec![])``, fully parseable). Otherwise ``public_values`` is None: scanning
    backwards for a self-consistent length prefix can match several offsets.
    """
    mode = versions.ProofMode.parse(mode)
    versions.check_circuit_version(circuit_version)
    data = bytes(data)
    r = Reader(data)
    tag = _read_tag(r, mode)
    if mode in (versions.ProofMode.PLONK, versions.ProofMode.GROTH16):
        return _inspect_snark(r, tag, circuit_version, expected_public_values)
    pv = _stark_public_values(data, mode, circuit_version, expected_public_values)
    _check_pv(pv, expected_public_values)
    return ProofInfo(tag, pv, circuit_version)


def _stark_public_values(
    data: bytes, mode: versions.ProofMode, circuit_version: str, expected: Optional[bytes]
) -> Optional[bytes]:
    """Public values of a Core/Compressed proof when they can be located (see inspect_proof)."""
    pv_end = len(data) - _version_tail_len(data, circuit_version)
    if mode is versions.ProofMode.CORE and data[4:12] == bytes(8):
        # Core(vec![]) (the SDK mock): fully parseable, pv must run exactly to the version.
        return _read_tail_pv(data, 12, pv_end)
    if expected is None:
        _check_middle_len(pv_end - 4 - 8, mode)
        return None
    pv_start = pv_end - 8 - len(expected)
    _check_middle_len(pv_start - 4, mode)
    return _read_tail_pv(data, pv_start, pv_end)


def _read_tag(r: Reader, mode: versions.ProofMode) -> int:
    try:
        tag = r.u32("SP1Proof tag")
    except BincodeError as e:
        raise ProofFormatError(str(e)) from None
    if tag != mode.proof_tag:
        raise ProofFormatError(
            f"SP1Proof tag {tag} does not match mode {mode.name} (expected tag "
            f"{mode.proof_tag})"
        )
    return tag


def _version_tail_len(data: bytes, circuit_version: str) -> int:
    """Length of ``u64 len ‖ version`` at the end of ``data``, which must be the expected one."""
    tail = Writer().string(circuit_version).getvalue()
    if data.endswith(tail) and len(data) >= 4 + len(tail):
        return len(tail)
    for other in versions.CIRCUIT_VERSIONS:
        if data.endswith(Writer().string(other).getvalue()):
            raise ProofFormatError(
                f"proof sp1_version is {other!r}, expected {circuit_version!r}"
            )
    raise ProofFormatError(
        f"proof does not end with sp1_version {circuit_version!r} (u64 length + string)"
    )


def _check_middle_len(n: int, mode: versions.ProofMode) -> None:
    # Core: at least the u64 shard count; Compressed: a non-empty recursion proof.
    need = 8 if mode is versions.ProofMode.CORE else 1
    if n < need:
        raise ProofFormatError(
            f"{mode.name} proof body is {max(n, 0)} bytes, too short to be an SP1Proof"
        )


def _read_tail_pv(data: bytes, start: int, pv_end: int) -> bytes:
    """``u64 len ‖ pv`` filling exactly ``data[start:pv_end]``."""
    n = _U64.unpack_from(data, start)[0] if 0 <= start <= pv_end - 8 else None
    if n != pv_end - start - 8:
        raise ProofFormatError(
            f"no public values length prefix at offset {start} that ends exactly where "
            f"sp1_version starts (offset {pv_end})"
        )
    return bytes(data[start + 8:pv_end])


def _check_pv(pv: bytes, expected: Optional[bytes]) -> None:
    if expected is not None and pv != bytes(expected):
        raise PublicValuesMismatch(
            f"proof public values ({len(pv)} bytes, {pv[:16].hex()}...) differ from the "
            f"expected ones ({len(expected)} bytes, {bytes(expected[:16]).hex()}...)"
        )


def _inspect_snark(
    r: Reader, tag: int, circuit_version: str, expected: Optional[bytes]
) -> ProofInfo:
    # prover-backends.md §3.5: [String; N] (no count), encoded_proof, raw_proof, [u8; 32].
    n = versions.plonk_public_inputs_count(circuit_version)
    try:
        inputs = tuple(r.string(f"public_inputs[{i}]") for i in range(n))
        r.string("encoded_proof")
        r.string("raw_proof")
        r.raw(32, "vkey_hash")
        pv = r.bytes("public values")
        version = r.string("sp1_version")
    except BincodeError as e:
        raise ProofFormatError(f"{versions.ProofMode(tag + 1).name} proof: {e}") from None
    if version != circuit_version:
        raise ProofFormatError(f"proof sp1_version is {version!r}, expected {circuit_version!r}")
    if not r.at_end():
        raise ProofFormatError(f"{r.remaining} trailing bytes after sp1_version")
    _check_pv(pv, expected)
    return ProofInfo(tag, pv, version, inputs)
