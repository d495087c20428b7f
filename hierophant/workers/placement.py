"""The queue and the placement policy: pure code (no reactor, no I/O, no clock).

Jobs wait in one earliest-deadline-first queue per (mode, circuit version). Placement puts
the most urgent job that some free prover slot serves on the best such slot. A slot belongs
to one prover of one worker (a contemplant may carry several `[[provers]]`, each with its own
slots, modes and circuit versions), so a job is only ever placed where a prover can take it.
The owner (hierophant.workers.scheduler) keeps `FreeSlots` true as jobs start and end.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

Key = tuple[int, str]               # (proof mode, circuit version)
Order = tuple[int, int, bytes]      # (deadline, created_at, request id): earliest first


@dataclass(frozen=True, order=True)
class SlotRef:
    """A prover of a worker (slots are counted by the worker registry)."""
    worker_id: str
    prover: int


class JobQueue:
    """Queued request ids, EDF per key. Removal is lazy (an entry goes stale)."""

    def __init__(self) -> None:
        self._heaps: dict[Key, list[Order]] = {}
        self._queued: dict[bytes, Key] = {}

    def __len__(self) -> int:
        return len(self._queued)

    def __contains__(self, request_id: bytes) -> bool:
        return request_id in self._queued

    def push(self, request_id: bytes, key: Key, deadline: int, created_at: int) -> None:
        if request_id in self._queued:
            return
        self._queued[request_id] = key
        heapq.heappush(self._heaps.setdefault(key, []), (deadline, created_at, request_id))

    def discard(self, request_id: bytes) -> None:
        self._queued.pop(request_id, None)

    def keys(self) -> list[Key]:
        return [k for k in self._heaps if self._head(k) is not None]

    def waiting(self, key: Key) -> int:
        return sum(1 for k in self._queued.values() if k == key)

    def heads(self) -> Iterator[tuple[Key, Order]]:
        """The most urgent entry of every non-empty queue."""
        for key in list(self._heaps):
            head = self._head(key)
            if head is not None:
                yield key, head

    def pop(self, key: Key) -> bytes:
        _, _, rid = heapq.heappop(self._heaps[key])
        del self._queued[rid]
        return rid

    def _head(self, key: Key) -> Order | None:
        heap = self._heaps.get(key)
        while heap:
            head = heap[0]
            if self._queued.get(head[2]) == key:
                return head
            heapq.heappop(heap)          # stale: discarded (or re-queued under another entry)
        if heap is not None:
            del self._heaps[key]
        return None


class FreeSlots:
    """The provers that have a free slot, indexed by every key they serve."""

    def __init__(self) -> None:
        self._by_key: dict[Key, set[SlotRef]] = {}
        self._keys: dict[SlotRef, frozenset[Key]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def set(self, ref: SlotRef, keys: Iterable[Key]) -> None:
        """`ref` has a free slot for `keys` (empty: no free slot)."""
        keys = frozenset(keys)
        old = self._keys.get(ref, frozenset())
        if old == keys:
            return
        for k in old - keys:
            bucket = self._by_key[k]
            bucket.discard(ref)
            if not bucket:
                del self._by_key[k]
        for k in keys - old:
            self._by_key.setdefault(k, set()).add(ref)
        if keys:
            self._keys[ref] = keys
        else:
            self._keys.pop(ref, None)

    def serving(self, key: Key) -> set[SlotRef]:
        return self._by_key.get(key, set())

    def serves(self, key: Key) -> bool:
        return bool(self._by_key.get(key))


Rank = Callable[[SlotRef, int], tuple]


def place(queue: JobQueue, free: FreeSlots, rank: Rank) -> tuple[bytes, SlotRef] | None:
    """Take the earliest-deadline job a free slot serves off the queue, with the slot that
    ranks lowest for its mode (the caller's rank: fastest known, then least recently used).
    None when no queued job fits any free slot."""
    best: tuple[Order, Key] | None = None
    for key, head in queue.heads():
        if (best is None or head < best[0]) and free.serves(key):
            best = (head, key)
    if best is None:
        return None
    key = best[1]
    slot = min(free.serving(key), key=lambda ref: (rank(ref, key[0]), ref))
    return queue.pop(key), slot
