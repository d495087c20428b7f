"""One guest run on unicorn (prover-backends.md §5.9), with SP1's syscall semantics.

Execution runs natively in unicorn; Python only sees ecalls, traps, first touches of
unmapped memory and the block counter's stop points (cycle limit, progress).
"""

from __future__ import annotations

import collections
import ctypes
import logging
from collections.abc import Callable

import unicorn
from unicorn import riscv_const as rv

from . import hooks as hint_hooks
from .counter import BlockCounter
from .elf import Program
from .errors import (Breakpoint, CycleLimitExceeded, GuestError, InvalidMemoryAccess,
                     InvalidSyscallUsage, Unimplemented, UnsupportedSyscall)
from .memory import GuestMemory
from .syscalls import HALT, V6_UNCONSTRAINED_ALLOWED, syscall_table

log = logging.getLogger(__name__)

REGS = {"t0": rv.UC_RISCV_REG_T0, "a0": rv.UC_RISCV_REG_A0, "a1": rv.UC_RISCV_REG_A1,
        "a2": rv.UC_RISCV_REG_A2, "a3": rv.UC_RISCV_REG_A3, "a4": rv.UC_RISCV_REG_A4,
        "pc": rv.UC_RISCV_REG_PC}
ECALL_INTNOS = frozenset((8, 9, 11))  # environment call from U/S/M mode
BREAKPOINT_INTNO = 3
EBREAK_WORD = 0x00100073
PROGRESS_EVERY = 1 << 24
_UNREACHABLE_PC = 1  # emu_start's `until`: never a valid (4-aligned) pc
_MEM_UNMAPPED = (unicorn.UC_HOOK_MEM_READ_UNMAPPED | unicorn.UC_HOOK_MEM_WRITE_UNMAPPED
                 | unicorn.UC_HOOK_MEM_FETCH_UNMAPPED)


class Unconstrained:
    """State saved at ENTER_UNCONSTRAINED (§5.7)."""

    def __init__(self, context: unicorn.UcContext, cycles: int, mapped: set[int]) -> None:
        self.context = context
        self.cycles = cycles
        self.mapped = mapped


class Machine:
    """Loads a validated Program into unicorn and runs it to HALT."""

    def __init__(self, program: Program, inputs: list[bytes], proof_count: int = 0, *,
                 cycle_limit: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 hooks: dict[int, Callable[[bytes], list[bytes]]] | None = None,
                 on_console: Callable[[int, bytes], None] | None = None,
                 python_counter: bool = False) -> None:
        self.program = program
        self.version = program.version
        self.word_bytes = 8 if program.is64 else 4
        self.all_ones = (1 << (8 * self.word_bytes)) - 1
        self.inputs = collections.deque(inputs)
        self.proof_count = proof_count
        self.cycle_limit = cycle_limit
        self.progress = progress
        self.hooks = dict(hint_hooks.HOOKS, **(hooks or {}))
        self.on_console = on_console
        self.public_values = bytearray()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.pv_digest_words = [0] * 8
        self.deferred_digest_words = [0] * 8
        self.verify_calls = 0
        self.exit_code: int | None = None
        self.unconstrained: Unconstrained | None = None
        self.syscall_code = 0
        self._error: BaseException | None = None
        self._table = syscall_table(self.version)
        self.uc = unicorn.Uc(unicorn.UC_ARCH_RISCV,
                             unicorn.UC_MODE_RISCV64 if program.is64 else unicorn.UC_MODE_RISCV32)
        self.mem = GuestMemory(self.uc, program)
        self.counter = BlockCounter(self.uc, force_python=python_counter)
        self._install_hooks()

    # --- setup ---
    def _install_hooks(self) -> None:
        uc = self.uc
        uc.hook_add(unicorn.UC_HOOK_INTR, self._on_interrupt)
        uc.hook_add(_MEM_UNMAPPED, self._on_unmapped)
        for start, last in self.program.illegal:
            uc.hook_add(unicorn.UC_HOOK_CODE, self._on_illegal, begin=start, end=last)
        uc.ctl(unicorn.UC_CTL_CONTEXT_MODE, unicorn.UC_CTL_IO_WRITE,
               ctypes.c_int(unicorn.UC_CTL_CONTEXT_CPU | unicorn.UC_CTL_CONTEXT_MEMORY))

    # --- helpers used by syscall handlers ---
    def reg(self, name: str) -> int:
        return self.uc.reg_read(REGS[name])

    def set_reg(self, name: str, value: int) -> None:
        self.uc.reg_write(REGS[name], value & self.all_ones)

    def halt(self, exit_code: int) -> None:
        self.exit_code = exit_code
        self.uc.emu_stop()

    def console(self, fd: int, data: bytes) -> None:
        (self.stdout if fd == 1 else self.stderr).extend(data)
        if self.on_console is not None:
            self.on_console(fd, data)

    def enter_unconstrained(self) -> None:
        """§5.7: snapshot registers, pc and memory (unicorn's copy-on-write context)."""
        self.unconstrained = Unconstrained(self.uc.context_save(), self.counter.count,
                                           set(self.mem.mapped))

    def exit_unconstrained(self) -> None:
        """§5.7: restore the snapshot; execution resumes after the ENTER ecall (t0 set by caller)."""
        snap, self.unconstrained = self.unconstrained, None
        assert snap is not None
        self.uc.context_restore(snap.context)
        self.mem.mapped = snap.mapped
        if self.version == 5:  # v5 restores global_clk, so the block's cycles do not count (§5.8)
            self.counter.count = snap.cycles

    # --- unicorn callbacks ---
    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self.uc.emu_stop()

    def _on_interrupt(self, uc: unicorn.Uc, intno: int, _user: object) -> None:
        try:
            if intno in ECALL_INTNOS:
                self._ecall()
            elif intno == BREAKPOINT_INTNO:
                raise Breakpoint("EBREAK executed")
            else:
                raise Unimplemented(f"CPU exception {intno} (illegal or unsupported instruction)")
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start returns
            self._fail(exc)

    def _ecall(self) -> None:
        code = self.reg("t0") & 0xFFFF_FFFF
        self.syscall_code = code
        handler = self._table.get(code)
        if handler is None:
            raise UnsupportedSyscall(f"unknown syscall code {code:#010x}")
        if (self.unconstrained is not None and self.version == 6 and code != HALT
                and code not in V6_UNCONSTRAINED_ALLOWED):
            raise InvalidSyscallUsage(f"syscall {code:#x} is not allowed in an unconstrained block")
        result = handler(self)
        self.set_reg("t0", code if result is None else result)

    def _on_unmapped(self, uc: unicorn.Uc, access: int, address: int, size: int, value: int,
                     _user: object) -> bool:
        if access != unicorn.UC_MEM_FETCH_UNMAPPED and self.mem.map_range(address, address + size):
            return True
        kind = "fetch from" if access == unicorn.UC_MEM_FETCH_UNMAPPED else "access to"
        self._fail(InvalidMemoryAccess(f"{kind} invalid address {address:#x}"))
        return False

    def _on_illegal(self, uc: unicorn.Uc, address: int, size: int, _user: object) -> None:
        word = int.from_bytes(uc.mem_read(address, 4), "little")
        self._fail(Unimplemented(f"instruction {word:#010x} is not RV{64 if self.program.is64 else 32}IM"))

    # --- run loop ---
    def _next_stop(self, floor: int) -> int:
        """Next count at which the block hook stops: cycle limit or progress report.

        `floor` is past the block that was just unwound, so resuming cannot stop on it again.
        """
        stop = 1 << 62
        if self.cycle_limit is not None:
            stop = self.cycle_limit + 1
        if self.progress is not None:
            report_at = (self.counter.count // PROGRESS_EVERY + 1) * PROGRESS_EVERY
            stop = min(stop, max(report_at, floor))
        return stop

    def _decorate(self, exc: GuestError) -> GuestError:
        if exc.cycles is None:
            exc.cycles = self.counter.count
        if exc.pc is None:
            exc.pc = self.reg("pc")
        return exc

    def _run_slice(self, pc: int, floor: int) -> None:
        self.counter.stop_at(self._next_stop(floor))
        try:
            self.uc.emu_start(pc, _UNREACHABLE_PC)
        except unicorn.UcError as exc:
            if self._error is None:
                self._error = self._translate(exc)
        if self._error is not None:
            err, self._error = self._error, None
            raise self._decorate(err) if isinstance(err, GuestError) else err

    def _translate(self, exc: unicorn.UcError) -> GuestError:
        if exc.errno in (unicorn.UC_ERR_INSN_INVALID, unicorn.UC_ERR_EXCEPTION):
            return self._trap_at(self.reg("pc"))
        if exc.errno in (unicorn.UC_ERR_READ_UNALIGNED, unicorn.UC_ERR_WRITE_UNALIGNED,
                         unicorn.UC_ERR_FETCH_UNALIGNED, unicorn.UC_ERR_READ_UNMAPPED,
                         unicorn.UC_ERR_WRITE_UNMAPPED, unicorn.UC_ERR_FETCH_UNMAPPED,
                         unicorn.UC_ERR_READ_PROT, unicorn.UC_ERR_WRITE_PROT,
                         unicorn.UC_ERR_FETCH_PROT):
            return InvalidMemoryAccess(f"memory fault: {exc}")
        return Unimplemented(f"emulator stopped: {exc}")

    def _trap_at(self, pc: int) -> GuestError:
        try:
            word = int.from_bytes(self.uc.mem_read(pc, 4), "little")
        except unicorn.UcError:
            return InvalidMemoryAccess(f"fetch from invalid address {pc:#x}")
        if word == EBREAK_WORD:
            return Breakpoint("EBREAK executed")
        return Unimplemented(f"illegal instruction {word:#010x}")

    def run(self) -> int:
        """Run to HALT; returns the exit code. Raises GuestError subclasses on failure."""
        pc, floor = self.program.entry, 0
        while True:
            self._run_slice(pc, floor)
            cycles = self.counter.count
            if self.cycle_limit is not None and cycles > self.cycle_limit:
                raise self._decorate(CycleLimitExceeded(self.cycle_limit))
            if self.exit_code is not None:
                return self.exit_code
            if self.counter.stopped_by_threshold:
                self.counter.unwind_stopped_block()
                cycles = self.counter.count
                floor = cycles + self.counter.pending_block + 1
            if self.progress is not None:
                self.progress(cycles)
            pc = self.reg("pc")
            if pc == _UNREACHABLE_PC:
                raise self._decorate(InvalidMemoryAccess("jump to an invalid address"))

    @property
    def cycles(self) -> int:
        return self.counter.count
