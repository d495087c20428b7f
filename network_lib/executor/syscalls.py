"""The SP1 syscall table (prover-backends.md §5.2–§5.6).

Each handler takes the running `Machine` and returns the value for t0, or None to leave
the syscall code there (§5.2). Precompiles go through `precompiles.run_precompile`.

VERIFY_SP1_PROOF checks presence only: both pointer arguments must be readable (32 bytes
each) and stdin must carry at least as many deferred proofs (the u64 count at the head of
SP1Stdin.proofs_raw) as VERIFY_SP1_PROOF calls so far. The vk and public-values digests are
not matched against the proofs: the proofs are opaque recursion-proof bincode whose vk
digest is a Poseidon2 hash, not stored verbatim. (SP1 v6's minimal executor treats the
call as a no-op; v5 checks the digests.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import hooks
from .errors import (EndInUnconstrained, InvalidSyscallUsage, UnsupportedSyscall)
from .precompiles import PRECOMPILES, PrecompileError, run_precompile

if TYPE_CHECKING:
    from .machine import Machine

log = logging.getLogger(__name__)

HALT = 0x00
WRITE = 0x02
ENTER_UNCONSTRAINED = 0x03
EXIT_UNCONSTRAINED = 0x04
COMMIT = 0x10
COMMIT_DEFERRED_PROOFS = 0x1A
VERIFY_SP1_PROOF = 0x1B
HINT_LEN = 0xF0
HINT_READ = 0xF1
MPROTECT = 0x132
SIG_RETURN = 0x134
HINT_MPROTECT_FLUSH = 0x35
DUMP_ELF, INSERT_PROFILER_SYMBOLS, DELETE_PROFILER_SYMBOLS = 0x40, 0x41, 0x42

FD_STDOUT, FD_STDERR = 1, 2
FD_PUBLIC_VALUES = 13
FD_HINT = 14
LOWEST_ALLOWED_FD = 10

Handler = Callable[["Machine"], "int | None"]


def sys_halt(m: "Machine") -> None:
    if m.unconstrained is not None:
        raise EndInUnconstrained("HALT inside an unconstrained block")
    m.halt(m.reg("a0") & 0xFFFF_FFFF)


def _write_fd(m: "Machine", fd: int, data: bytes) -> None:
    """§5.4: route one WRITE."""
    if fd == FD_PUBLIC_VALUES:
        m.public_values += data
    elif fd == FD_HINT:
        m.inputs.appendleft(data)
    elif fd in m.hooks:
        for item in reversed(m.hooks[fd](data)):
            m.inputs.appendleft(bytes(item))
    elif fd in (FD_STDOUT, FD_STDERR):
        m.console(fd, data)
    elif fd <= LOWEST_ALLOWED_FD and m.version == 5:
        raise InvalidSyscallUsage(f"WRITE to deprecated fd {fd}")
    else:
        log.warning("guest WRITE to unsupported fd %d dropped (%d bytes)", fd, len(data))


def sys_write(m: "Machine") -> None:
    fd, ptr, n = m.reg("a0"), m.reg("a1"), m.reg("a2")
    data = m.mem.read(ptr, n) if n else b""
    try:
        _write_fd(m, fd, data)
    except hooks.HookError as exc:
        raise InvalidSyscallUsage(f"hook fd {fd}: {exc}") from exc


def sys_enter_unconstrained(m: "Machine") -> int:
    if m.unconstrained is not None:
        raise InvalidSyscallUsage("nested ENTER_UNCONSTRAINED")
    m.enter_unconstrained()
    return 1


def sys_exit_unconstrained(m: "Machine") -> int:
    if m.unconstrained is None:
        if m.version == 6:
            raise InvalidSyscallUsage("EXIT_UNCONSTRAINED outside an unconstrained block")
        return 0
    m.exit_unconstrained()
    return 0


def _digest_word(m: "Machine", words: list[int], what: str) -> None:
    index, word = m.reg("a0"), m.reg("a1")
    if index >= 8:
        raise InvalidSyscallUsage(f"{what} word index {index} out of range")
    words[index] = word & 0xFFFF_FFFF


def sys_commit(m: "Machine") -> None:
    _digest_word(m, m.pv_digest_words, "COMMIT")


def sys_commit_deferred(m: "Machine") -> None:
    _digest_word(m, m.deferred_digest_words, "COMMIT_DEFERRED_PROOFS")


def sys_verify_sp1_proof(m: "Machine") -> None:
    """§5.3: checks only that stdin carries deferred proofs to back the call (see README)."""
    m.mem.read(m.reg("a0"), 32)
    m.mem.read(m.reg("a1"), 32)
    m.verify_calls += 1
    if m.verify_calls > m.proof_count:
        raise InvalidSyscallUsage(
            f"VERIFY_SP1_PROOF call {m.verify_calls} but stdin carries {m.proof_count} proof(s)")


def sys_hint_len(m: "Machine") -> int:
    if not m.inputs:
        return m.all_ones
    return len(m.inputs[0])


def sys_hint_read(m: "Machine") -> None:
    """§5.3 HINT_READ; v6 writes whole u64 words: zero-pad, plus one zero word if len % 8 == 0."""
    ptr, n = m.reg("a0"), m.reg("a1")
    if not m.inputs:
        raise InvalidSyscallUsage("HINT_READ with an empty input stream")
    if ptr % m.word_bytes:
        raise InvalidSyscallUsage(f"HINT_READ pointer {ptr:#x} misaligned")
    data = m.inputs[0]
    if n != len(data):
        raise InvalidSyscallUsage(
            f"HINT_READ length {n} does not match the next input's length {len(data)}")
    m.inputs.popleft()
    if m.version == 6:
        data = data + bytes(8 - len(data) % 8)
    m.mem.write(ptr, data)


def sys_unsupported_v6(m: "Machine") -> None:
    raise UnsupportedSyscall(f"syscall {m.syscall_code:#x} (untrusted programs) is not supported")


def sys_debug_noop(m: "Machine") -> None:
    return None


def sys_precompile(m: "Machine") -> None:
    try:
        run_precompile(m.syscall_code, m.version, m.reg, m.mem.read, m.mem.write)
    except PrecompileError as exc:
        raise InvalidSyscallUsage(str(exc)) from exc


_COMMON: dict[int, Handler] = {
    HALT: sys_halt,
    WRITE: sys_write,
    ENTER_UNCONSTRAINED: sys_enter_unconstrained,
    EXIT_UNCONSTRAINED: sys_exit_unconstrained,
    COMMIT: sys_commit,
    COMMIT_DEFERRED_PROOFS: sys_commit_deferred,
    VERIFY_SP1_PROOF: sys_verify_sp1_proof,
    HINT_LEN: sys_hint_len,
    HINT_READ: sys_hint_read,
}
_V6_ONLY: dict[int, Handler] = {
    MPROTECT: sys_unsupported_v6,
    SIG_RETURN: sys_unsupported_v6,
    HINT_MPROTECT_FLUSH: sys_unsupported_v6,
    DUMP_ELF: sys_debug_noop,
    INSERT_PROFILER_SYMBOLS: sys_debug_noop,
    DELETE_PROFILER_SYMBOLS: sys_debug_noop,
}


def syscall_table(version: int) -> dict[int, Handler]:
    """Handlers keyed by the full 32-bit code for circuit family `version` (§5.3)."""
    table = dict(_COMMON)
    if version == 6:
        table.update(_V6_ONLY)
    for code, spec in PRECOMPILES.items():
        if version in spec.versions:
            table[code] = sys_precompile
    return table


# v6: only WRITE and EXIT_UNCONSTRAINED may run inside an unconstrained block (§5.3).
V6_UNCONSTRAINED_ALLOWED = frozenset((WRITE, EXIT_UNCONSTRAINED))


def committed_digest(words: list[int]) -> bytes:
    """The 32-byte digest from the eight COMMIT words (u32 LE each, §5.6)."""
    return b"".join(w.to_bytes(4, "little") for w in words)
