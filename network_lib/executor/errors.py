"""Executor errors. Guest failures carry the proto `ExecuteFailureCause` number."""

from __future__ import annotations

import enum


class FailureCause(enum.IntEnum):
    """Mirrors the network proto's ExecuteFailureCause names and numbers."""

    UNSPECIFIED_EXECUTION_FAILURE_CAUSE = 0
    HALT_WITH_NON_ZERO_EXIT_CODE = 1
    INVALID_MEMORY_ACCESS = 2
    UNSUPPORTED_SYSCALL = 3
    BREAKPOINT = 4
    EXCEEDED_CYCLE_LIMIT = 5
    INVALID_SYSCALL_USAGE = 6
    UNIMPLEMENTED = 7
    END_IN_UNCONSTRAINED = 8


class ExecutionError(Exception):
    """Base of everything `execute` raises on purpose."""


class InvalidElf(ExecutionError, ValueError):
    """The ELF is one SP1 would refuse to load (prover-backends.md §5.1)."""


class InvalidStdin(ExecutionError, ValueError):
    """The stdin bytes are not SP1Stdin bincode (§3.1)."""


class GuestError(ExecutionError):
    """The guest program failed while running; `cause` is the proto failure cause."""

    cause: FailureCause = FailureCause.UNSPECIFIED_EXECUTION_FAILURE_CAUSE

    def __init__(self, message: str, *, cycles: int | None = None, pc: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cycles = cycles
        self.pc = pc

    def __str__(self) -> str:
        where = f" at pc={self.pc:#x}" if self.pc is not None else ""
        after = f" (after {self.cycles:,} cycles)" if self.cycles is not None else ""
        return f"{self.message}{where}{after}"


class NonZeroExit(GuestError):
    """HALT with an exit code other than 0 (a Rust panic halts with 1, §5.1)."""

    cause = FailureCause.HALT_WITH_NON_ZERO_EXIT_CODE

    def __init__(self, exit_code: int, report: object = None, **kw) -> None:
        super().__init__(f"guest halted with exit code {exit_code}", **kw)
        self.exit_code = exit_code
        self.report = report


class InvalidMemoryAccess(GuestError):
    cause = FailureCause.INVALID_MEMORY_ACCESS


class UnsupportedSyscall(GuestError):
    cause = FailureCause.UNSUPPORTED_SYSCALL


class Breakpoint(GuestError):
    cause = FailureCause.BREAKPOINT


class CycleLimitExceeded(GuestError):
    cause = FailureCause.EXCEEDED_CYCLE_LIMIT

    def __init__(self, limit: int, **kw) -> None:
        super().__init__(f"cycle limit of {limit:,} cycles exceeded", **kw)
        self.limit = limit


class InvalidSyscallUsage(GuestError):
    cause = FailureCause.INVALID_SYSCALL_USAGE


class Unimplemented(GuestError):
    """An instruction SP1 does not execute (A/C/F/D, CSR, `unimp`) or an unsupported feature."""

    cause = FailureCause.UNIMPLEMENTED


class EndInUnconstrained(GuestError):
    cause = FailureCause.END_IN_UNCONSTRAINED
