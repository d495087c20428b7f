"""Cheap instruction counting for unicorn: a per-basic-block counter (prover-backends.md §5.8).

SP1 counts one cycle per executed instruction. Every RV32IM/RV64IM instruction is 4 bytes,
so a UC_HOOK_BLOCK that adds the block's byte size counts 4x the instructions.

On x86-64 the hook is 20 bytes of machine code placed in an executable page, so no Python
runs per block; it also calls uc_emu_stop once the count reaches a threshold (cycle limit
or next progress report). Elsewhere, or if an executable page cannot be had, a Python
callback does the same, much more slowly.
"""

from __future__ import annotations

import ctypes
import mmap
import platform

import unicorn
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

# hook(uc=rdi, address=rsi, size=edx, user=rcx),
# user -> {u64 bytes; u64 threshold; void* stop; u64 last_size}
_X86_64_HOOK = bytes((
    0x89, 0xD0,              # mov eax, edx
    0x48, 0x89, 0x41, 0x18,  # mov [rcx+24], rax
    0x48, 0x03, 0x01,        # add rax, [rcx]
    0x48, 0x89, 0x01,        # mov [rcx], rax
    0x48, 0x3B, 0x41, 0x08,  # cmp rax, [rcx+8]
    0x73, 0x01,              # jae stop
    0xC3,                    # ret
    0xFF, 0x61, 0x10,        # stop: jmp [rcx+16]  (tail call uc_emu_stop(uc))
))

_code_page: mmap.mmap | None = None


def _native_hook_address() -> int | None:
    global _code_page
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    if _code_page is None:
        try:
            page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        except (OSError, ValueError, AttributeError):
            return None
        page.write(_X86_64_HOOK)
        _code_page = page
    return ctypes.addressof(ctypes.c_char.from_buffer(_code_page))


class BlockCounter:
    """Counts executed instructions; stops emulation when `threshold` is reached."""

    def __init__(self, uc: unicorn.Uc, force_python: bool = False) -> None:
        self._cells = (ctypes.c_uint64 * 4)(0, 1 << 63, 0, 0)
        self._cells[2] = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value or 0
        address = None if force_python else _native_hook_address()
        self.native = address is not None
        if self.native:
            handle = uc_hook_h()
            err = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), unicorn.UC_HOOK_BLOCK,
                                    ctypes.c_void_p(address),
                                    ctypes.cast(self._cells, ctypes.c_void_p),
                                    ctypes.c_uint64(1), ctypes.c_uint64(0))
            if err:
                raise unicorn.UcError(err)
        else:
            uc.hook_add(unicorn.UC_HOOK_BLOCK, self._py_hook)

    def _py_hook(self, uc: unicorn.Uc, address: int, size: int, _user: object) -> None:
        cells = self._cells
        cells[3] = size
        cells[0] += size
        if cells[0] >= cells[1]:
            uc.emu_stop()

    @property
    def count(self) -> int:
        """Instructions executed so far."""
        return self._cells[0] >> 2

    @count.setter
    def count(self, value: int) -> None:
        self._cells[0] = value << 2

    @property
    def stopped_by_threshold(self) -> bool:
        return self._cells[0] >= self._cells[1]

    def unwind_stopped_block(self) -> None:
        """A stop from the block hook comes before the block runs; it runs again on resume."""
        self._cells[0] -= self._cells[3]

    @property
    def pending_block(self) -> int:
        """Instructions in the block that was counted but stopped before running."""
        return self._cells[3] >> 2

    def stop_at(self, cycles: int) -> None:
        """Stop emulation at the first block boundary where count >= cycles."""
        self._cells[1] = min(cycles, (1 << 61)) << 2
