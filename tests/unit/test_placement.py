"""The pure queue and placement policy (hierophant/workers/placement.py): no reactor, no I/O."""
from __future__ import annotations

from hierophant.workers.placement import FreeSlots, JobQueue, SlotRef, place

V6, V5 = (1, "v6.1.0"), (1, "v5.0.0")


def rank_by(table: dict):
    return lambda ref, mode: table.get(ref, (0.0,))


def test_edf_across_keys_and_lazy_removal():
    q = JobQueue()
    q.push(b"a", V6, deadline=30, created_at=1)
    q.push(b"b", V5, deadline=10, created_at=2)
    q.push(b"c", V6, deadline=10, created_at=3)
    q.discard(b"b")
    free = FreeSlots()
    free.set(SlotRef("w", 0), {V6, V5})
    assert place(q, free, rank_by({})) == (b"c", SlotRef("w", 0))
    assert place(q, free, rank_by({})) == (b"a", SlotRef("w", 0))
    assert place(q, free, rank_by({})) is None and len(q) == 0


def test_a_job_only_goes_to_a_slot_that_serves_its_key():
    q = JobQueue()
    q.push(b"v5", V5, deadline=1, created_at=1)
    q.push(b"v6", V6, deadline=2, created_at=1)
    free = FreeSlots()
    free.set(SlotRef("w", 0), {V6})           # the v5 prover of w is busy: no slot for v5
    assert place(q, free, rank_by({})) == (b"v6", SlotRef("w", 0))
    assert place(q, free, rank_by({})) is None and b"v5" in q


def test_the_lowest_ranked_slot_wins_and_a_full_prover_leaves_the_index():
    q = JobQueue()
    q.push(b"x", V6, deadline=1, created_at=1)
    free = FreeSlots()
    slow, fast = SlotRef("slow", 0), SlotRef("fast", 1)
    free.set(slow, {V6})
    free.set(fast, {V6})
    free.set(fast, ())
    assert place(q, free, rank_by({slow: (9.0,), fast: (1.0,)})) == (b"x", slow)
    assert len(free) == 1 and free.serving(V5) == set()
