"""Static RISC-V instruction screening: which words SP1 would not execute.

prover-backends.md §5.1: v6 is RV64IM (+ W-forms, LD/SD/LWU), v5 is RV32IM; ECALL, EBREAK.
Unicorn's CPU also runs C/A/F/D/CSR instructions (§5.9 quirk 2), so the loader screens the
executable segments and the machine traps any listed word if it is ever executed.
"""

from __future__ import annotations

import struct

_BRANCH_F3 = frozenset((0, 1, 4, 5, 6, 7))
_ECALL, _EBREAK = 0x00000073, 0x00100073


def _op_ok(f3: int, f7: int, is64: bool, word32: bool) -> bool:
    if f7 == 0x01:  # M extension
        return not word32 or f3 in (0, 4, 5, 6, 7)
    if f7 == 0x20:
        return f3 in (0, 5)
    if f7 != 0:
        return False
    return not word32 or f3 in (0, 1, 5)


def _op_imm_ok(word: int, f3: int, is64: bool) -> bool:
    if f3 == 1:  # SLLI
        return (word >> 26) == 0 if is64 else (word >> 25) == 0
    if f3 == 5:  # SRLI / SRAI
        hi = word >> 26 if is64 else word >> 25
        return hi in ((0, 0x10) if is64 else (0, 0x20))
    return True


def _op_imm32_ok(word: int, f3: int) -> bool:
    if f3 == 0:
        return True
    f7 = word >> 25
    return (f3 == 1 and f7 == 0) or (f3 == 5 and f7 in (0, 0x20))


def is_legal(word: int, is64: bool) -> bool:
    """True when `word` decodes to an instruction SP1's transpiler accepts (§5.1)."""
    opcode = word & 0x7F
    f3 = (word >> 12) & 7
    f7 = word >> 25
    if opcode in (0x37, 0x17, 0x6F, 0x0F):  # LUI AUIPC JAL FENCE
        return True
    if opcode == 0x67:
        return f3 == 0
    if opcode == 0x63:
        return f3 in _BRANCH_F3
    if opcode == 0x03:
        return f3 in ((0, 1, 2, 3, 4, 5, 6) if is64 else (0, 1, 2, 4, 5))
    if opcode == 0x23:
        return f3 <= (3 if is64 else 2)
    if opcode == 0x13:
        return _op_imm_ok(word, f3, is64)
    if opcode == 0x33:
        return _op_ok(f3, f7, is64, False)
    if is64 and opcode == 0x1B:
        return _op_imm32_ok(word, f3)
    if is64 and opcode == 0x3B:
        return _op_ok(f3, f7, is64, True)
    if opcode == 0x73:
        return word in (_ECALL, _EBREAK)
    return False


def illegal_ranges(code: bytes, base: int, is64: bool) -> list[tuple[int, int]]:
    """Inclusive [start, last] address ranges of words in `code` that SP1 would refuse."""
    ranges: list[tuple[int, int]] = []
    n = len(code) // 4
    for i, word in enumerate(struct.unpack_from(f"<{n}I", code)):
        if is_legal(word, is64):
            continue
        addr = base + 4 * i
        if ranges and ranges[-1][1] == addr - 4:
            ranges[-1] = (ranges[-1][0], addr)
        else:
            ranges.append((addr, addr))
    return ranges
