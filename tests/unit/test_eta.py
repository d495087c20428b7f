"""The rate model (hierophant/eta/fit.py) and the ETAs played from it (hierophant/eta/forecast.py)."""
from __future__ import annotations

import pytest
import pytest_twisted

from hierophant.db import Database
from hierophant.eta.fit import empty, learn, line, predict
from hierophant.eta.forecast import Server, Waiting, queue_etas, running_eta
from hierophant.eta.rates import Rates

CORE, GROTH16 = 1, 4


def taught(samples, worker="w1", mode=CORE):
    fit = empty(worker, mode)
    for secs, cycles in samples:
        fit = learn(fit, secs, cycles)
    return fit


def test_unknown_before_history():
    fit = empty("w1", CORE)
    assert predict(fit, 1_000_000) is None
    assert predict(fit, None) is None
    assert predict(None, 5) is None
    assert running_eta(None, 3.0, 50.0) is None


def test_learns_fixed_plus_per_cycle():
    # 4 s setup + 2 s per million cycles, exactly
    fit = taught([(4 + 2 * m, m * 1_000_000) for m in (1, 10, 3, 7, 20)])
    fixed, per_cycle = line(fit)
    assert fixed == pytest.approx(4.0)
    assert per_cycle * 1_000_000 == pytest.approx(2.0)
    assert predict(fit, 50_000_000) == pytest.approx(104.0)
    assert fit.proofs == 5


def test_one_proof_gives_a_flat_line_and_cycles_unknown_the_fixed_term():
    fit = taught([(30.0, 5_000_000)])
    assert predict(fit, 5_000_000) == pytest.approx(30.0)
    assert predict(fit, 9_000_000) == pytest.approx(30.0)      # slope unknown yet
    assert predict(fit, None) == pytest.approx(30.0)           # the fixed term alone


def test_proofs_without_cycles_teach_the_fixed_term_only():
    fit = taught([(10.0, None), (20.0, None)])
    assert line(fit) is None
    assert 10.0 < predict(fit, None) < 20.0 and predict(fit, 123) == predict(fit, None)
    fit = learn(fit, 40.0, 2_000_000)
    assert predict(fit, 2_000_000) == pytest.approx(40.0)       # the line, from the one proof with cycles


def test_follows_a_worker_that_slows_down():
    fit = taught([(10.0, 1_000_000)] * 10)
    for _ in range(30):
        fit = learn(fit, 30.0, 1_000_000)
    assert predict(fit, 1_000_000) == pytest.approx(30.0, rel=0.05)


def test_noise_never_gives_a_negative_estimate():
    fit = taught([(50.0, 1_000_000), (10.0, 100_000_000)])     # bigger was faster: slope clamped
    assert predict(fit, 1_000_000_000) >= 0
    fit = taught([(1.0, 10_000_000), (100.0, 20_000_000)])     # steep: fixed would go below zero
    fixed, per_cycle = line(fit)
    assert fixed == 0.0 and per_cycle > 0
    assert predict(fit, 0) == 0.0


def test_running_eta_from_the_model_then_from_progress():
    assert running_eta(100.0, 30.0, 10.0) == 70.0
    assert running_eta(100.0, 120.0, 80.0) == 30.0               # overran: 120 s for 80 %
    assert running_eta(100.0, 120.0, None) == 0.0


def fitted(worker, secs, mode=CORE):
    return {mode: taught([(secs, None)], worker, mode)}


def test_queue_is_played_over_the_slots_that_free_first():
    a = Server("a", frozenset({(CORE, "v6.1.0")}), fitted("a", 10.0), free_in=(4.0,))
    b = Server("b", frozenset({(CORE, "v6.1.0")}), fitted("b", 100.0), free_in=(0.0,))
    q = [Waiting(bytes([i]) * 32, CORE, "v6.1.0") for i in range(3)]
    etas = queue_etas(q, [a, b])
    # first: b is free now (0 + 100); second: a frees at 4 (4 + 10); third: a again (14 + 10)
    assert [etas[w.request_id] for w in q] == [100.0, 14.0, 24.0]


def test_queue_without_a_capable_or_known_slot_has_no_eta():
    a = Server("a", frozenset({(GROTH16, "v6.1.0")}), fitted("a", 10.0, GROTH16), free_in=(0.0,))
    new = Server("n", frozenset({(CORE, "v6.1.0")}), {}, free_in=(0.0,))       # no history
    stuck = Server("s", frozenset({(CORE, "v5.0.0")}), fitted("s", 5.0), free_in=(None,))   # running, unknown
    q = [Waiting(b"\1" * 32, CORE, "v6.1.0"), Waiting(b"\2" * 32, CORE, "v5.0.0"),
         Waiting(b"\3" * 32, GROTH16, "v6.1.0")]
    assert queue_etas(q, [a, new, stuck]) == {b"\1" * 32: None, b"\2" * 32: None, b"\3" * 32: 10.0}


def test_queue_play_stops_at_its_limit():
    a = Server("a", frozenset({(CORE, "v6.1.0")}), fitted("a", 1.0), free_in=(0.0,))
    q = [Waiting(i.to_bytes(32, "big"), CORE, "v6.1.0") for i in range(5)]
    etas = queue_etas(q, [a], played=3)
    assert [etas[w.request_id] for w in q] == [1.0, 2.0, 3.0, None, None]


@pytest_twisted.ensureDeferred
async def test_rates_are_visible_once_committed_and_survive_a_restart(tmp_path):
    db = Database(tmp_path / "h.sqlite3")
    db.start()
    rates = Rates(db)
    assert rates.get("w1", CORE) is None
    first = rates.learn("w1", CORE, 10.0, 1_000_000, at=5.0)
    second = rates.learn("w1", CORE, 20.0, 6_000_000, at=6.0)    # learns from the first, unwritten yet
    assert rates.get("w1", CORE) is None                          # nothing visible before the commit
    await first
    await second
    learned = rates.get("w1", CORE)
    assert learned.proofs == 2 and rates.of("w1") == {CORE: learned}
    db.stop()

    again = Database(tmp_path / "h.sqlite3")
    reloaded = Rates(again, again.load().rate_fits)
    again.stop()
    assert reloaded.get("w1", CORE) == learned
    assert predict(reloaded.get("w1", CORE), 11_000_000) == pytest.approx(30.0)   # 8 s + 2 s/Mcycle
    assert reloaded.get("w1", GROTH16) is None and reloaded.get("w2", CORE) is None
