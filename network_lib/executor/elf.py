"""ELF validation and loading for SP1 guests (prover-backends.md §5.1).

ELF64 → v6 (RV64IM), ELF32 → v5 (RV32IM). Refuses what SP1's loader refuses: wrong magic,
endianness, machine or type, misaligned entry, too many program headers, PT_LOAD segments
that are unsorted, overlapping, unreadable, W+X, or (v6) below STACK_TOP.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import InvalidElf, Unimplemented
from .isa import illegal_ranges

EM_RISCV = 243
ET_EXEC = 2
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
PF_UNTRUSTED = 0x0010_0000
MAX_PHDRS = 256
V6_STACK_TOP = 0x7800_0000
V6_ADDR_LIMIT = 1 << 48
V5_ADDR_LIMIT = 0x7800_0000  # v5 MAX_MEMORY, below the BabyBear prime


@dataclass(frozen=True)
class Segment:
    vaddr: int
    data: bytes  # file bytes; memsz - len(data) zero bytes follow
    memsz: int
    flags: int

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz


@dataclass(frozen=True)
class Program:
    version: int  # circuit family: 6 for ELF64/RV64IM, 5 for ELF32/RV32IM
    entry: int
    segments: tuple[Segment, ...]
    illegal: tuple[tuple[int, int], ...]  # inclusive ranges of words SP1 would not execute

    @property
    def is64(self) -> bool:
        return self.version == 6

    @property
    def end(self) -> int:
        return max(s.end for s in self.segments)


def _header(elf: bytes) -> tuple[bool, tuple]:
    if elf[:4] != b"\x7fELF":
        raise InvalidElf("not an ELF file (bad magic)")
    if len(elf) < 52:
        raise InvalidElf("truncated ELF header")
    if elf[4] not in (1, 2):
        raise InvalidElf(f"unknown ELF class {elf[4]}")
    if elf[5] != 1:
        raise InvalidElf("ELF is not little-endian")
    is64 = elf[4] == 2
    fmt = "<HHIQQQIHHHHHH" if is64 else "<HHIIIIIHHHHHH"
    if len(elf) < 16 + struct.calcsize(fmt):
        raise InvalidElf("truncated ELF header")
    return is64, struct.unpack_from(fmt, elf, 16)


def _phdrs(elf: bytes, is64: bool, phoff: int, phentsize: int, phnum: int) -> list[Segment]:
    segs = []
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            if off + 56 > len(elf):
                raise InvalidElf("program header table past end of file")
            p_type, flags, foff, vaddr, _, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", elf, off)
        else:
            if off + 32 > len(elf):
                raise InvalidElf("program header table past end of file")
            p_type, foff, vaddr, _, filesz, memsz, flags, _ = struct.unpack_from("<IIIIIIII", elf, off)
        if p_type != PT_LOAD or memsz == 0:
            continue
        if filesz > memsz or foff + filesz > len(elf):
            raise InvalidElf(f"segment {i}: file bytes out of range")
        segs.append(Segment(vaddr, bytes(elf[foff:foff + filesz]), memsz, flags))
    return segs


def _check_segments(segs: list[Segment], is64: bool) -> None:
    if not segs:
        raise InvalidElf("no PT_LOAD segments")
    limit = V6_ADDR_LIMIT if is64 else V5_ADDR_LIMIT
    for prev, seg in zip([None] + segs[:-1], segs):
        where = f"segment at {seg.vaddr:#x}"
        if seg.flags & PF_UNTRUSTED:
            raise Unimplemented(f"{where}: untrusted programs (PF_UNTRUSTED/MPROTECT) are not supported")
        if not seg.flags & PF_R:
            raise InvalidElf(f"{where} is not readable")
        if seg.flags & PF_W and seg.flags & PF_X:
            raise InvalidElf(f"{where} is both writable and executable")
        if is64 and seg.vaddr < V6_STACK_TOP:
            raise InvalidElf(f"{where} lies below STACK_TOP {V6_STACK_TOP:#x}")
        if seg.end > limit:
            raise InvalidElf(f"{where} extends past the address limit {limit:#x}")
        if prev is not None and seg.vaddr < prev.end:
            raise InvalidElf(f"{where} is unsorted or overlaps the previous segment")


def load_elf(elf: bytes) -> Program:
    """Parse and validate an SP1 guest ELF; raises InvalidElf with the reason."""
    is64, h = _header(elf)
    e_type, machine, _, entry, phoff, _, _, _, phentsize, phnum = h[:10]
    if machine != EM_RISCV:
        raise InvalidElf(f"e_machine is {machine}, not RISC-V (243)")
    if e_type != ET_EXEC:
        raise InvalidElf(f"e_type is {e_type}, not ET_EXEC")
    if entry % 4:
        raise InvalidElf(f"entry point {entry:#x} is not 4-byte aligned")
    if phnum > MAX_PHDRS:
        raise InvalidElf(f"{phnum} program headers (max {MAX_PHDRS})")
    segs = _phdrs(elf, is64, phoff, phentsize, phnum)
    _check_segments(segs, is64)
    if not any(s.flags & PF_X and s.vaddr <= entry < s.end for s in segs):
        raise InvalidElf(f"entry point {entry:#x} is not in an executable segment")
    bad: list[tuple[int, int]] = []
    for s in segs:
        if s.flags & PF_X:
            bad += illegal_ranges(s.data, s.vaddr, is64)
    return Program(6 if is64 else 5, entry, tuple(segs), tuple(bad))
