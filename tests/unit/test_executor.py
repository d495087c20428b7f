"""Executor tests on hand-assembled RV64 (v6) and RV32 (v5) guests (prover-backends.md §5)."""

from __future__ import annotations

import hashlib
import pickle
import struct

import pytest

from network_lib.executor import (Breakpoint, CycleLimitExceeded, EndInUnconstrained,
                                  FailureCause, InvalidElf, InvalidMemoryAccess, InvalidStdin,
                                  InvalidSyscallUsage, NonZeroExit, Unimplemented,
                                  UnsupportedSyscall, execute, load_elf)
from tests.executor_elfs import PF_R, PF_W, PF_X, V6_BASE, Asm, Seg, build_elf, program_elf, stdin_bytes

DATA = V6_BASE + 0x10_0000
DATA5 = 0x0030_0000
HALT, WRITE, ENTER, EXIT, COMMIT, COMMIT_DEF = 0, 2, 3, 4, 0x10, 0x1A
HINT_LEN, HINT_READ, VERIFY = 0xF0, 0xF1, 0x1B
SHA_EXTEND, SHA_COMPRESS, KECCAK = 0x00300105, 0x00010106, 0x00010109


def halt(a: Asm, code: int = 0) -> Asm:
    return a.syscall(HALT, code)


def run(asm: Asm, *inputs: bytes, data: bytes = b"", **kw):
    data_addr = DATA if asm.is64 else DATA5
    elf = program_elf(asm, data or b"\0" * 4096, data_addr=data_addr)
    return execute(elf, stdin_bytes(*inputs), **kw)


# --- hints, public values, digests ---

def test_hint_len_read_and_v6_zero_padding() -> None:
    a = Asm()
    a.syscall(HINT_LEN).li("s1", DATA).sd("t0", "s1", 0)          # data[0] = len
    a.li("a0", DATA + 8).li("a1", 8).li("t0", HINT_READ).ecall()   # data[8..] = input (+ zero word)
    a.syscall(WRITE, 13, DATA, 24)
    halt(a)
    r = run(a, b"ABCDEFGH", data=b"\xff" * 4096)
    assert r.public_values == struct.pack("<Q", 8) + b"ABCDEFGH" + bytes(8)
    assert r.exit_code == 0 and r.version == 6


def test_hint_partial_word_is_zero_padded() -> None:
    a = Asm()
    a.syscall(HINT_READ, DATA, 3).syscall(WRITE, 13, DATA, 16)
    halt(a)
    assert run(a, b"xyz", data=b"\xff" * 4096).public_values == b"xyz" + bytes(5) + b"\xff" * 8


def test_hint_len_empty_is_all_ones_and_bad_length_refused() -> None:
    a = Asm()
    a.syscall(HINT_LEN).li("s1", DATA).sd("t0", "s1", 0).syscall(WRITE, 13, DATA, 8)
    halt(a)
    assert run(a).public_values == b"\xff" * 8
    b = Asm().syscall(HINT_READ, DATA, 4)
    halt(b)
    with pytest.raises(InvalidSyscallUsage) as e:
        run(b, b"abc")
    assert e.value.cause == FailureCause.INVALID_SYSCALL_USAGE


def test_public_values_and_commit_digest() -> None:
    pv = b"hello, public values!"
    digest = hashlib.sha256(pv).digest()
    a = Asm().syscall(WRITE, 13, DATA, len(pv))
    for i in range(8):
        a.syscall(COMMIT, i, struct.unpack_from("<I", digest, 4 * i)[0])
    for i in range(8):
        a.syscall(COMMIT_DEF, i, 0)
    halt(a)
    r = run(a, data=pv + bytes(4096))
    assert r.public_values == pv
    assert r.public_values_digest == digest and r.digest_matches
    assert r.deferred_proofs_digest == bytes(32)


def test_stdout_and_hint_fd_roundtrip() -> None:
    a = Asm().syscall(WRITE, 1, DATA, 3).syscall(WRITE, 14, DATA, 3)
    a.syscall(HINT_READ, DATA + 64, 3).syscall(WRITE, 13, DATA + 64, 3)
    halt(a)
    r = run(a, data=b"hi\n" + bytes(4096))
    assert r.stdout == b"hi\n" and r.public_values == b"hi\n"


# --- halting, exit codes, cycles ---

def test_exact_cycle_count() -> None:
    a = Asm()
    for _ in range(10):
        a.addi("a5", "a5", 1)
    halt(a)  # li a0, 0; li t0, 0; ecall
    assert run(a).cycles == 13


def test_nonzero_exit_and_panic() -> None:
    with pytest.raises(NonZeroExit) as e:
        run(halt(Asm(), 1))
    assert e.value.cause == FailureCause.HALT_WITH_NON_ZERO_EXIT_CODE and e.value.exit_code == 1
    assert e.value.report.exit_code == 1
    r = run(halt(Asm(), 7), allow_nonzero_exit=True)
    assert r.exit_code == 7


def test_cycle_limit() -> None:
    a = Asm().label("top").addi("a5", "a5", 1).j("top")
    with pytest.raises(CycleLimitExceeded) as e:
        run(a, cycle_limit=100_000)
    assert e.value.cause == FailureCause.EXCEEDED_CYCLE_LIMIT
    assert "cycle limit of 100,000 cycles exceeded" in str(e.value)
    b = halt(Asm().addi("a5", "a5", 1))
    assert run(b, cycle_limit=4).cycles == 4
    with pytest.raises(CycleLimitExceeded):
        run(b, cycle_limit=3)


def test_progress_reports_monotonic_cycles() -> None:
    a = Asm().li("a5", 3_000_000).label("top").addi("a5", "a5", -1).bne("a5", "zero", "top")
    halt(a)
    seen: list[int] = []
    r = run(a, progress=seen.append)
    assert seen and seen[-1] == r.cycles and seen == sorted(seen)
    assert r.cycles == 2 + 2 * 3_000_000 + 3


# --- unconstrained blocks (§5.7) ---

def _unconstrained_program(inner: Asm | None = None) -> Asm:
    a = Asm()
    a.li("s1", 5).li("s2", DATA).li("s3", 7).sd("s3", "s2", 0)        # s1 = 5, mem[DATA] = 7
    a.li("t0", ENTER).ecall().beq("t0", "zero", "after")
    a.li("s1", 99).li("s3", 42).sd("s3", "s2", 0).sd("s3", "s2", 0x10_0000)  # clobber + new page
    a.syscall(WRITE, 14, DATA + 8, 2)                                  # hint survives
    if inner is not None:
        a.words += inner.words
    a.li("t0", EXIT).ecall()
    a.label("after")
    a.sd("t0", "s2", 16).sd("s1", "s2", 24)
    a.syscall(HINT_READ, DATA + 32, 2)
    a.syscall(WRITE, 13, DATA, 40)
    return halt(a)


def test_unconstrained_rolls_back_registers_and_memory() -> None:
    r = run(_unconstrained_program(), data=bytes(8) + b"ok" + bytes(4096))
    pv = r.public_values
    assert pv[0:8] == struct.pack("<Q", 7)        # memory restored
    assert pv[16:24] == struct.pack("<Q", 0)      # t0 = 0 after EXIT
    assert pv[24:32] == struct.pack("<Q", 5)      # register restored
    assert pv[32:34] == b"ok"                    # the fd-14 hint survived


def test_unconstrained_v6_forbids_other_syscalls_and_halt() -> None:
    with pytest.raises(InvalidSyscallUsage):
        run(_unconstrained_program(Asm().syscall(HINT_LEN)), data=bytes(4096))
    with pytest.raises(EndInUnconstrained) as e:
        run(_unconstrained_program(halt(Asm())), data=bytes(4096))
    assert e.value.cause == FailureCause.END_IN_UNCONSTRAINED


# --- refusals ---

def test_illegal_instructions_refused_when_executed() -> None:
    for word in (0x00B5202F, 0x00010001, 0x00053007, 0xC0001073, 0x30001073):  # amo, c.nop x2, fld, unimp, csrw
        a = Asm().word(word)
        halt(a)
        with pytest.raises(Unimplemented) as e:
            run(a)
        assert e.value.cause == FailureCause.UNIMPLEMENTED
    b = Asm().j("end").word(0x00B5202F).label("end")  # present but never executed: fine
    halt(b)
    assert run(b).exit_code == 0


def test_ebreak_unknown_syscall_and_bad_memory() -> None:
    with pytest.raises(Breakpoint) as e:
        run(halt(Asm().ebreak()))
    assert e.value.cause == FailureCause.BREAKPOINT
    with pytest.raises(UnsupportedSyscall) as e2:
        run(halt(Asm().syscall(0x00000777)))
    assert e2.value.cause == FailureCause.UNSUPPORTED_SYSCALL
    with pytest.raises(InvalidMemoryAccess) as e3:
        run(halt(Asm().li("s1", 1 << 50).ld("a5", "s1", 0)))
    assert e3.value.cause == FailureCause.INVALID_MEMORY_ACCESS


def test_verify_sp1_proof_needs_a_deferred_proof() -> None:
    a = halt(Asm().syscall(VERIFY, DATA, DATA + 32))
    with pytest.raises(InvalidSyscallUsage):
        run(a)
    elf = program_elf(a, bytes(4096), data_addr=DATA)
    with_proof = stdin_bytes()[:-8] + struct.pack("<Q", 1) + b"\x01proof-bytes"
    assert execute(elf, with_proof).exit_code == 0


GOOD = Asm().syscall(HALT, 0).assemble()


@pytest.mark.parametrize("mutate, reason", [
    (lambda: b"not an elf at all" * 4, "magic"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_X)], V6_BASE, machine=62), "RISC-V"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_X)], V6_BASE, e_type=3), "ET_EXEC"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_X)], V6_BASE, endian=2), "little-endian"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_X)], V6_BASE + 2), "aligned"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_W | PF_X)], V6_BASE), "writable and executable"),
    (lambda: build_elf([Seg(0x10000, GOOD, PF_R | PF_X)], 0x10000), "STACK_TOP"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_X)], V6_BASE), "not readable"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_X), Seg(V6_BASE + 4, b"x", PF_R)], V6_BASE), "overlaps"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R)], V6_BASE), "executable segment"),
    (lambda: build_elf([Seg(V6_BASE, GOOD, PF_R | PF_X)], V6_BASE)[:40], "truncated"),
])
def test_bad_elfs_refused(mutate, reason: str) -> None:
    with pytest.raises(InvalidElf, match=reason):
        execute(mutate(), stdin_bytes())


def test_bad_stdin_refused() -> None:
    with pytest.raises(InvalidStdin):
        execute(program_elf(halt(Asm())), b"\x05")


# --- precompiles end to end ---

def _sha256_block(msg: bytes) -> list[int]:
    padded = msg + b"\x80" + bytes((55 - len(msg)) % 64) + struct.pack(">Q", 8 * len(msg))
    return list(struct.unpack(">16I", padded))


def test_sha_extend_and_compress_compute_sha256() -> None:
    iv = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
    w = _sha256_block(b"abc") + [0] * 48
    data = b"".join(struct.pack("<Q", x) for x in w + iv)  # v6: u32 words in u64 slots
    a = Asm().syscall(SHA_EXTEND, DATA, 0).syscall(SHA_COMPRESS, DATA, DATA + 512)
    a.syscall(WRITE, 13, DATA + 512, 64)
    halt(a)
    pv = run(a, data=data + bytes(4096)).public_values
    words = struct.unpack("<8Q", pv)
    assert b"".join(struct.pack(">I", x) for x in words) == hashlib.sha256(b"abc").digest()


def test_keccak_permute_zero_state() -> None:
    a = Asm().syscall(KECCAK, DATA, 0).syscall(WRITE, 13, DATA, 200)
    halt(a)
    pv = run(a).public_values
    assert struct.unpack_from("<Q", pv)[0] == 0xF1258F7940E1DDE7


# --- v5 (RV32IM) ---

def test_v5_rv32_program() -> None:
    a = Asm(is64=False)
    a.syscall(HINT_LEN).li("s1", DATA5).sw("t0", "s1", 0)
    a.syscall(HINT_READ, DATA5 + 4, 3).syscall(WRITE, 13, DATA5, 8)
    a.syscall(HINT_LEN).sw("t0", "s1", 0).syscall(WRITE, 13, DATA5, 4)
    halt(a)
    r = run(a, b"v5!", data=b"\xee" * 4096)
    assert r.version == 5
    assert r.public_values == struct.pack("<I", 3) + b"v5!\xee" + b"\xff" * 4


def test_v5_rejects_rv64_only_instruction() -> None:
    a = Asm(is64=False).word(0x0004B483)  # ld s1, 0(s1): not RV32IM
    halt(a)
    with pytest.raises(Unimplemented):
        run(a)


# --- plumbing ---

def test_report_is_picklable_and_python_counter_agrees() -> None:
    from network_lib.executor.machine import Machine

    a = Asm().li("a5", 1000).label("top").addi("a5", "a5", -1).bne("a5", "zero", "top")
    halt(a)
    r = run(a)
    assert pickle.loads(pickle.dumps(r)) == r
    assert pickle.loads(pickle.dumps(execute)) is execute
    m = Machine(load_elf(program_elf(a)), [], python_counter=True)
    assert m.run() == 0 and m.cycles == r.cycles
