"""Execute SP1 guest programs (v6 RV64IM, v5 RV32IM) on unicorn: prover-backends.md §5.

`execute` is a plain module-level function returning a plain dataclass, so it can run in a
process pool.
"""

from __future__ import annotations

from collections.abc import Callable

from .elf import Program, load_elf
from .errors import (Breakpoint, CycleLimitExceeded, EndInUnconstrained, ExecutionError,
                     FailureCause, GuestError, InvalidElf, InvalidMemoryAccess, InvalidStdin,
                     InvalidSyscallUsage, NonZeroExit, Unimplemented, UnsupportedSyscall)
from .report import ExecutionReport

__all__ = [
    "execute", "ExecutionReport", "Program", "load_elf", "ExecutionError", "GuestError",
    "FailureCause", "InvalidElf", "InvalidStdin", "NonZeroExit", "InvalidMemoryAccess",
    "UnsupportedSyscall", "Breakpoint", "CycleLimitExceeded", "InvalidSyscallUsage",
    "Unimplemented", "EndInUnconstrained",
]


def _decode_stdin(stdin: bytes) -> tuple[list[bytes], int]:
    from network_lib.bincode import SP1Stdin

    try:
        decoded = SP1Stdin.decode(bytes(stdin))
    except Exception as exc:  # noqa: BLE001 - any decode failure is a bad stdin
        raise InvalidStdin(f"stdin is not SP1Stdin bincode: {exc}") from exc
    raw = decoded.proofs_raw
    proof_count = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else 0
    return list(decoded.buffers), proof_count


def execute(elf: bytes, stdin: bytes, cycle_limit: int | None = None,
            progress: Callable[[int], None] | None = None, *,
            allow_nonzero_exit: bool = False,
            hooks: dict[int, Callable[[bytes], list[bytes]]] | None = None,
            on_console: Callable[[int, bytes], None] | None = None) -> ExecutionReport:
    """Run an SP1 guest ELF on SP1Stdin bincode (raw, not zstd) to HALT.

    Raises InvalidElf / InvalidStdin for bad inputs, CycleLimitExceeded past `cycle_limit`,
    NonZeroExit (carrying the report) for a non-zero exit unless `allow_nonzero_exit`, and
    other GuestError subclasses for guest failures. `progress(cycles)` is called every
    2^24 cycles. `hooks` adds or overrides WRITE fd hooks (§5.4).
    """
    from .machine import Machine
    from .syscalls import committed_digest

    program = load_elf(bytes(elf))
    inputs, proof_count = _decode_stdin(stdin)
    machine = Machine(program, inputs, proof_count, cycle_limit=cycle_limit, progress=progress,
                      hooks=hooks, on_console=on_console)
    exit_code = machine.run()
    report = ExecutionReport(
        cycles=machine.cycles,
        public_values=bytes(machine.public_values),
        exit_code=exit_code,
        public_values_digest=committed_digest(machine.pv_digest_words),
        deferred_proofs_digest=committed_digest(machine.deferred_digest_words),
        version=program.version,
        stdout=bytes(machine.stdout),
        stderr=bytes(machine.stderr),
    )
    if progress is not None:
        progress(report.cycles)
    if exit_code != 0 and not allow_nonzero_exit:
        raise NonZeroExit(exit_code, report, cycles=report.cycles)
    return report
