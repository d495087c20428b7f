"""Registered programs (vk_hash -> Program) and per-address nonces, on the reactor."""
from __future__ import annotations

from hierophant.db import Database
from hierophant.model import Program


class Programs:
    def __init__(self, db: Database, programs: list[Program]) -> None:
        self.db = db
        self._by_hash = {p.vk_hash: p for p in programs}

    def get(self, vk_hash: bytes) -> Program | None:
        return self._by_hash.get(vk_hash)

    def all(self) -> list[Program]:
        return list(self._by_hash.values())

    def add(self, program: Program) -> None:
        """Make a program visible; persist it with `db.write` before calling this."""
        self._by_hash[program.vk_hash] = program

    def remove(self, program: Program) -> None:
        self._by_hash.pop(program.vk_hash, None)


class Nonces:
    """DESIGN.md "Nonces": a body is accepted if its nonce is greater than the last accepted
    one for its address; GetNonce answers last + 1 (0 for an address never seen)."""

    def __init__(self, last: dict[bytes, int]) -> None:
        self._last = dict(last)
        self._reserved: dict[bytes, int] = {}

    def next(self, address: bytes) -> int:
        last = max(self._last.get(address, -1), self._reserved.get(address, -1))
        return last + 1

    def fresh(self, address: bytes, nonce: int) -> bool:
        return nonce >= self.next(address)

    def reserve(self, address: bytes, nonce: int) -> None:
        """Hold a nonce while its write is in flight, so a concurrent replay is refused."""
        self._reserved[address] = max(nonce, self._reserved.get(address, -1))

    def commit(self, address: bytes, nonce: int) -> None:
        self._last[address] = max(nonce, self._last.get(address, -1))
        if self._reserved.get(address, -1) <= nonce:
            self._reserved.pop(address, None)
