"""Owners of registered programs (vk_hash -> Program) and per-address nonces, on the reactor.

Both commit before they show: a program or a nonce is visible (GetProgram, GetNonce, replay
checks) only once the store has it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from twisted.internet import defer

from hierophant.model import Program
from hierophant.store import Store


class Programs:
    def __init__(self, store: Store, programs: Iterable[Program]) -> None:
        self.store = store
        self._by_hash = {p.vk_hash: p for p in programs}

    def get(self, vk_hash: bytes) -> Program | None:
        return self._by_hash.get(vk_hash)

    def all(self) -> list[Program]:
        return list(self._by_hash.values())

    @defer.inlineCallbacks
    def register(self, program: Program, nonces: dict[bytes, int] | None = None) -> defer.Deferred:
        """Persist a new program (with the registering body's nonce), then make it visible."""
        yield self.store.write(put=[program], nonces=nonces)
        self._by_hash[program.vk_hash] = program
        return program

    @defer.inlineCallbacks
    def touch(self, vk_hash: bytes, when: int) -> defer.Deferred:
        """Record that a proof of the program was requested (retention keeps it)."""
        p = self._by_hash.get(vk_hash)
        if p is None or p.last_used >= when:
            return
        new = replace(p, last_used=when)
        yield self.store.write(put=[new])
        if self._by_hash.get(vk_hash) is p:
            self._by_hash[vk_hash] = new

    @defer.inlineCallbacks
    def forget(self, programs: list[Program]) -> defer.Deferred:
        """Delete programs (retention); the SDK re-registers a missing one by itself."""
        if not programs:
            return
        yield self.store.write(delete=programs)
        for p in programs:
            if self._by_hash.get(p.vk_hash) is p:
                del self._by_hash[p.vk_hash]


class Nonces:
    """DESIGN.md "Nonces": a body is accepted if its nonce is greater than the last accepted
    one for its address; GetNonce answers last + 1 (0 for an address never seen). A nonce in
    flight is reserved, so a concurrent replay is refused before the first one commits."""

    def __init__(self, store: Store, last: dict[bytes, int]) -> None:
        self.store = store
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

    def persist(self, nonces: dict[bytes, int]) -> defer.Deferred:
        """Write reserved nonces on their own, then commit them."""
        if not nonces:
            return defer.succeed(None)
        d = self.store.write(nonces=nonces)
        d.addCallback(lambda _: self.committed(nonces))
        return d

    def committed(self, nonces: dict[bytes, int]) -> None:
        """Nonces written (alone or with the record they signed) are now the last accepted."""
        for address, nonce in nonces.items():
            self._last[address] = max(nonce, self._last.get(address, -1))
            if self._reserved.get(address, -1) <= nonce:
                self._reserved.pop(address, None)
