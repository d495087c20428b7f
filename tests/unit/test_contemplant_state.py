"""The state_dir keeps the worker's identity: worker_id and a generated name (issue 8)."""
from __future__ import annotations

from contemplant.names import names
from contemplant.state import StateDir


def test_a_generated_name_is_saved_and_reused(tmp_path):
    first = StateDir(tmp_path)
    drawn = first.name(None)
    assert drawn in names() and (tmp_path / "name").read_text().strip() == drawn
    worker_id = first.worker_id
    first.release()
    again = StateDir(tmp_path)
    assert (again.name(None), again.worker_id) == (drawn, worker_id)
    assert again.name("bezalel") == "bezalel"           # a configured name wins
    again.release()
