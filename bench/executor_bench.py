"""Executor speed vs. the unicorn ceiling (prover-backends.md §5.9).

The ceiling is unicorn running the same program with only the ecall handling it cannot do
without (hints, writes, hook fds, precompiles, unconstrained rollback) and no cycle
counting, ELF checks or illegal-instruction traps. Both run the same ELF and stdin; the
ratio is executor cycles/s over ceiling cycles/s (the executor's count is used for both).

    .venv/bin/python bench/executor_bench.py [--fib-n N] [--skip-rsp] [--repeat K]
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import struct
import sys
import time
from pathlib import Path

import unicorn
from unicorn import riscv_const as rv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from network_lib.bincode import SP1Stdin  # noqa: E402
from network_lib.executor import execute, load_elf  # noqa: E402
from network_lib.executor.hooks import HOOKS  # noqa: E402
from network_lib.executor.precompiles import PRECOMPILES, run_precompile  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "sp1-v6"
CHUNK = 1 << 24
REG = {"a0": rv.UC_RISCV_REG_A0, "a1": rv.UC_RISCV_REG_A1, "a2": rv.UC_RISCV_REG_A2,
       "a3": rv.UC_RISCV_REG_A3, "a4": rv.UC_RISCV_REG_A4}


class Ceiling:
    """Minimal v6 harness: map, load, handle ecalls, nothing else."""

    def __init__(self, elf: bytes, stdin: bytes) -> None:
        prog = load_elf(elf)
        self.entry = prog.entry
        self.inputs = collections.deque(SP1Stdin.decode(stdin).buffers)
        self.pv = bytearray()
        self.snap = None
        uc = self.uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
        lo, hi = 0x7800_0000 - (1 << 26), (prog.end + (1 << 28) + CHUNK - 1) // CHUNK * CHUNK
        uc.mem_map(lo, hi - lo)
        for s in prog.segments:
            uc.mem_write(s.vaddr, s.data)
        uc.hook_add(unicorn.UC_HOOK_INTR, self.ecall)
        uc.hook_add(unicorn.UC_HOOK_MEM_READ_UNMAPPED | unicorn.UC_HOOK_MEM_WRITE_UNMAPPED, self.lazy)
        uc.ctl(unicorn.UC_CTL_CONTEXT_MODE, unicorn.UC_CTL_IO_WRITE,
               ctypes.c_int(unicorn.UC_CTL_CONTEXT_CPU | unicorn.UC_CTL_CONTEXT_MEMORY))

    def lazy(self, uc, access, address, size, value, _u) -> bool:
        try:
            uc.mem_map(address // CHUNK * CHUNK, CHUNK)
        except unicorn.UcError:
            pass
        return True

    def mem_write(self, addr: int, data: bytes) -> None:
        try:
            self.uc.mem_write(addr, data)
        except unicorn.UcError:
            self.uc.mem_map(addr // CHUNK * CHUNK, CHUNK)
            self.uc.mem_write(addr, data)

    def ecall(self, uc, intno, _u) -> None:
        code = uc.reg_read(rv.UC_RISCV_REG_T0) & 0xFFFF_FFFF
        a0, a1 = uc.reg_read(rv.UC_RISCV_REG_A0), uc.reg_read(rv.UC_RISCV_REG_A1)
        ret = code
        if code == 0:
            uc.emu_stop()
        elif code == 2:
            data = bytes(uc.mem_read(a1, uc.reg_read(rv.UC_RISCV_REG_A2)))
            if a0 == 13:
                self.pv += data
            elif a0 == 14:
                self.inputs.appendleft(data)
            elif a0 in HOOKS:
                self.inputs.extendleft(reversed(HOOKS[a0](data)))
        elif code == 0xF0:
            ret = len(self.inputs[0]) if self.inputs else (1 << 64) - 1
        elif code == 0xF1:
            data = self.inputs.popleft()
            self.mem_write(a0, data + bytes(8 - len(data) % 8))
        elif code == 3:
            self.snap, ret = uc.context_save(), 1
        elif code == 4:
            uc.context_restore(self.snap)
            ret = 0
        elif code in PRECOMPILES:
            run_precompile(code, 6, lambda r: uc.reg_read(REG[r]),
                           lambda a, n: bytes(uc.mem_read(a, n)), self.mem_write)
        uc.reg_write(rv.UC_RISCV_REG_T0, ret)

    def run(self) -> bytes:
        self.uc.emu_start(self.entry, 1)
        return bytes(self.pv)


def stdin_of(*buffers: bytes) -> bytes:
    out = struct.pack("<Q", len(buffers))
    for b in buffers:
        out += struct.pack("<Q", len(b)) + b
    return out + struct.pack("<QQ", 0, 0)


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def compare(label: str, elf: bytes, stdin: bytes, repeat: int) -> float:
    t_exec, report = best_of(repeat, lambda: execute(elf, stdin))
    t_ceil, pv = best_of(repeat, lambda: Ceiling(elf, stdin).run())
    assert pv == report.public_values, "ceiling harness disagrees with the executor"
    ratio = t_ceil / t_exec
    print(f"{label}: {report.cycles:,} cycles | executor {t_exec:.3f}s "
          f"({report.cycles / t_exec / 1e6:,.1f} M cycles/s) | ceiling {t_ceil:.3f}s "
          f"({report.cycles / t_ceil / 1e6:,.1f} M cycles/s) | ratio {ratio:.2f}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fib-n", type=int, default=100_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-rsp", action="store_true")
    args = ap.parse_args(argv)
    if not FIXTURES.is_dir():
        print(f"fixtures not found at {FIXTURES}", file=sys.stderr)
        return 2
    fib = (FIXTURES / "fibonacci-usize.elf").read_bytes()
    compare(f"fibonacci n={args.fib_n:,}", fib, stdin_of(struct.pack("<Q", args.fib_n)), args.repeat)
    if not args.skip_rsp:
        rsp = (FIXTURES / "rsp-client.elf").read_bytes()
        rsp_in = stdin_of((FIXTURES / "rsp-input-21740136.bin").read_bytes())
        compare("rsp block 21740136", rsp, rsp_in, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
