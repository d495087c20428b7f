"""A contemplant keeps its identity across restarts (issue 8: stable names)."""
from __future__ import annotations


def test_a_restarted_unnamed_contemplant_keeps_its_name(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, start=False)
    del c.cfg["name"]
    c.start()
    first = c.listed()
    c.kill9()
    c.start()
    again = c.listed()
    assert (again["worker_id"], again["name"]) == (first["worker_id"], first["name"])
    assert first["name"] != "worker"
