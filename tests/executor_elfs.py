"""A tiny RV32/RV64 assembler and ELF writer for executor tests.

Only the handful of instructions the tests need. `Asm` collects words with labels;
`build_elf` wraps the code (and optional data) into an ET_EXEC RISC-V ELF laid out the
way SP1 guests are (prover-backends.md §5.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

REG = {f"x{i}": i for i in range(32)}
REG.update(zero=0, ra=1, sp=2, gp=3, tp=4, t0=5, t1=6, t2=7, s0=8, s1=9, a0=10, a1=11,
           a2=12, a3=13, a4=14, a5=15, a6=16, a7=17, s2=18, s3=19, t3=28, t4=29, t5=30, t6=31)

V6_BASE = 0x7800_1000
V5_BASE = 0x0020_0800


def _r(name: str | int) -> int:
    return name if isinstance(name, int) else REG[name]


def r_type(f7: int, rs2: str, rs1: str, f3: int, rd: str, op: int) -> int:
    return (f7 << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (f3 << 12) | (_r(rd) << 7) | op


def i_type(imm: int, rs1: str, f3: int, rd: str, op: int) -> int:
    assert -2048 <= imm < 2048, imm
    return ((imm & 0xFFF) << 20) | (_r(rs1) << 15) | (f3 << 12) | (_r(rd) << 7) | op


def s_type(imm: int, rs2: str, rs1: str, f3: int, op: int = 0x23) -> int:
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (f3 << 12) | ((imm & 31) << 7) | op


def b_type(off: int, rs1: str, rs2: str, f3: int) -> int:
    o = off & 0x1FFF
    return (((o >> 12) & 1) << 31) | (((o >> 5) & 0x3F) << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) \
        | (f3 << 12) | (((o >> 1) & 0xF) << 8) | (((o >> 11) & 1) << 7) | 0x63


def j_type(off: int, rd: str) -> int:
    o = off & 0x1FFFFF
    return (((o >> 20) & 1) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20) \
        | (((o >> 12) & 0xFF) << 12) | (_r(rd) << 7) | 0x6F


@dataclass
class Asm:
    """Collects instruction words; branches and jumps may name labels defined later."""

    is64: bool = True
    words: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)

    def label(self, name: str) -> "Asm":
        self.labels[name] = 4 * len(self.words)
        return self

    def word(self, w: int) -> "Asm":
        self.words.append(w)
        return self

    # --- base integer ---
    def addi(self, rd: str, rs1: str, imm: int) -> "Asm":
        return self.word(i_type(imm, rs1, 0, rd, 0x13))

    def addiw(self, rd: str, rs1: str, imm: int) -> "Asm":
        return self.word(i_type(imm, rs1, 0, rd, 0x1B))

    def slli(self, rd: str, rs1: str, sh: int) -> "Asm":
        return self.word(i_type(sh, rs1, 1, rd, 0x13))

    def lui(self, rd: str, imm20: int) -> "Asm":
        return self.word(((imm20 & 0xFFFFF) << 12) | (_r(rd) << 7) | 0x37)

    def add(self, rd: str, rs1: str, rs2: str) -> "Asm":
        return self.word(r_type(0, rs2, rs1, 0, rd, 0x33))

    def mul(self, rd: str, rs1: str, rs2: str) -> "Asm":
        return self.word(r_type(1, rs2, rs1, 0, rd, 0x33))

    def ld(self, rd: str, rs1: str, imm: int = 0) -> "Asm":
        return self.word(i_type(imm, rs1, 3 if self.is64 else 2, rd, 0x03))

    def sd(self, rs2: str, rs1: str, imm: int = 0) -> "Asm":
        return self.word(s_type(imm, rs2, rs1, 3 if self.is64 else 2))

    def sw(self, rs2: str, rs1: str, imm: int = 0) -> "Asm":
        return self.word(s_type(imm, rs2, rs1, 2))

    def lw(self, rd: str, rs1: str, imm: int = 0) -> "Asm":
        return self.word(i_type(imm, rs1, 2, rd, 0x03))

    def ecall(self) -> "Asm":
        return self.word(0x00000073)

    def ebreak(self) -> "Asm":
        return self.word(0x00100073)

    def branch(self, f3: int, rs1: str, rs2: str, target: str) -> "Asm":
        self.words.append(("b", f3, rs1, rs2, target))
        return self

    def beq(self, rs1: str, rs2: str, target: str) -> "Asm":
        return self.branch(0, rs1, rs2, target)

    def bne(self, rs1: str, rs2: str, target: str) -> "Asm":
        return self.branch(1, rs1, rs2, target)

    def j(self, target: str) -> "Asm":
        self.words.append(("j", target))
        return self

    # --- pseudo ---
    def li(self, rd: str, value: int) -> "Asm":
        """Load any 64-bit (or 32-bit) constant."""
        bits = 64 if self.is64 else 32
        value = ((value + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))
        if -2048 <= value < 2048:
            return self.addi(rd, "zero", value)
        if -(1 << 31) <= value < (1 << 31):
            lo = ((value & 0xFFF) ^ 0x800) - 0x800
            hi = ((value - lo) >> 12) & 0xFFFFF
            self.lui(rd, hi)
            if lo:
                (self.addiw if self.is64 else self.addi)(rd, rd, lo)
            return self
        lo = ((value & 0xFFF) ^ 0x800) - 0x800
        self.li(rd, (value - lo) >> 12)
        self.slli(rd, rd, 12)
        return self.addi(rd, rd, lo) if lo else self

    def syscall(self, code: int, *args: int) -> "Asm":
        """t0 = code; a0.. = args; ecall."""
        for reg, value in zip(("a0", "a1", "a2", "a3", "a4"), args):
            self.li(reg, value)
        self.li("t0", code)
        return self.ecall()

    def assemble(self) -> bytes:
        out = []
        for i, w in enumerate(self.words):
            if isinstance(w, tuple):
                off = self.labels[w[-1]] - 4 * i
                w = b_type(off, w[2], w[3], w[1]) if w[0] == "b" else j_type(off, "zero")
            out.append(struct.pack("<I", w))
        return b"".join(out)


# --- ELF writer ---

PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4


@dataclass
class Seg:
    vaddr: int
    data: bytes
    flags: int
    memsz: int | None = None


def build_elf(segments: list[Seg], entry: int, is64: bool = True, *, machine: int = 243,
              e_type: int = 2, endian: int = 1) -> bytes:
    """An ELF image with one PT_LOAD per segment, file data page-aligned after the headers."""
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    offset = 0x1000
    body = b""
    phdrs = b""
    for seg in segments:
        pad = (-(offset + len(body))) % 0x1000 + (seg.vaddr % 0x1000)
        body += b"\0" * pad
        foff = offset + len(body)
        memsz = seg.memsz if seg.memsz is not None else len(seg.data)
        if is64:
            phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, seg.flags, foff, seg.vaddr, seg.vaddr,
                                 len(seg.data), memsz, 0x1000)
        else:
            phdrs += struct.pack("<IIIIIIII", PT_LOAD, foff, seg.vaddr, seg.vaddr, len(seg.data),
                                 memsz, seg.flags, 0x1000)
        body += seg.data
    ident = b"\x7fELF" + bytes([2 if is64 else 1, endian, 1, 0]) + b"\0" * 8
    if is64:
        hdr = ident + struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, entry, ehsize, 0, 0,
                                  ehsize, phsize, len(segments), 64, 0, 0)
    else:
        hdr = ident + struct.pack("<HHIIIIIHHHHHH", e_type, machine, 1, entry, ehsize, 0, 0,
                                  ehsize, phsize, len(segments), 40, 0, 0)
    head = hdr + phdrs
    assert len(head) <= offset
    return head + b"\0" * (offset - len(head)) + body


def program_elf(asm: Asm, data: bytes = b"", data_addr: int | None = None, **kw) -> bytes:
    """Code at the conventional base, optional RW data segment; entry = first instruction."""
    base = V6_BASE if asm.is64 else V5_BASE
    segs = [Seg(base, asm.assemble(), PF_R | PF_X)]
    if data:
        segs.append(Seg(data_addr if data_addr is not None else base + 0x10_0000, data, PF_R | PF_W))
    return build_elf(segs, base, asm.is64, **kw)


def stdin_bytes(*buffers: bytes) -> bytes:
    """SP1Stdin bincode with the given buffers and no proofs (prover-backends.md §3.1)."""
    out = struct.pack("<Q", len(buffers))
    for b in buffers:
        out += struct.pack("<Q", len(b)) + b
    return out + struct.pack("<QQ", 0, 0)
