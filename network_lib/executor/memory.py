"""Guest memory on top of unicorn: layout, lazy mapping, checked host reads/writes.

prover-backends.md §5.1 / §5.9 quirk 3: segments, the stack below STACK_TOP and the start of
the heap are mapped up front; anything else inside the version's address space (heap, the
input region, e.g. v6 [0x1C_0000_0000, 0x20_0000_0000)) is mapped on first touch in
CHUNK-sized pieces. Host pages are allocated lazily by the OS, so big maps are cheap.
"""

from __future__ import annotations

import unicorn

from .elf import V5_ADDR_LIMIT, V6_ADDR_LIMIT, Program
from .errors import InvalidMemoryAccess

CHUNK = 1 << 24
V6_STACK_TOP = 0x7800_0000
V5_STACK_TOP = 0x0020_0400
PREMAP_STACK = 1 << 26
PREMAP_HEAP = 1 << 28
MAX_HOST_ACCESS = 1 << 30  # refuse single syscall buffers beyond 1 GiB


class GuestMemory:
    """Maps guest memory into `uc` and gives the host checked access to it."""

    def __init__(self, uc: unicorn.Uc, program: Program) -> None:
        self.uc = uc
        self.limit = V6_ADDR_LIMIT if program.is64 else V5_ADDR_LIMIT
        self.mapped: set[int] = set()
        lo = min(s.vaddr for s in program.segments)
        stack_top = V6_STACK_TOP if program.is64 else V5_STACK_TOP
        self.map_range(min(lo, stack_top) - PREMAP_STACK, program.end + PREMAP_HEAP)
        for seg in program.segments:
            uc.mem_write(seg.vaddr, seg.data)

    def map_range(self, start: int, end: int) -> bool:
        """Map every chunk meeting [start, end) inside the address space; False if outside it."""
        start = max(start, 0)
        if end > self.limit or start >= end:
            return False
        first, last = start // CHUNK, (end - 1) // CHUNK
        run_start = None
        for c in range(first, last + 2):
            missing = c <= last and c not in self.mapped
            if missing and run_start is None:
                run_start = c
            elif not missing and run_start is not None:
                self._map_chunks(run_start, c)
                run_start = None
        return True

    def _map_chunks(self, first: int, stop: int) -> None:
        try:
            self.uc.mem_map(first * CHUNK, (stop - first) * CHUNK, unicorn.UC_PROT_ALL)
        except unicorn.UcError as exc:
            if exc.errno != unicorn.UC_ERR_MAP:  # already mapped (e.g. kept across a restore)
                raise
            for c in range(first, stop):
                try:
                    self.uc.mem_map(c * CHUNK, CHUNK, unicorn.UC_PROT_ALL)
                except unicorn.UcError as exc2:
                    if exc2.errno != unicorn.UC_ERR_MAP:
                        raise
        self.mapped.update(range(first, stop))

    def _check(self, addr: int, n: int) -> None:
        if n > MAX_HOST_ACCESS:
            raise InvalidMemoryAccess(f"syscall buffer of {n:,} bytes at {addr:#x} is too large")
        if addr < 0 or addr + n > self.limit or not self.map_range(addr, addr + n):
            raise InvalidMemoryAccess(f"guest memory access [{addr:#x}, {addr + n:#x}) out of range")

    def read(self, addr: int, n: int) -> bytes:
        self._check(addr, n)
        return bytes(self.uc.mem_read(addr, n))

    def write(self, addr: int, data: bytes) -> None:
        self._check(addr, len(data))
        self.uc.mem_write(addr, bytes(data))
