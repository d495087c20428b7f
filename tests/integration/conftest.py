from __future__ import annotations

import pytest

from tests.integration.harness import Hierophant


@pytest.fixture
def make_hierophant(tmp_path):
    """Factory of started hierophants; all are stopped at the end of the test."""
    started: list[Hierophant] = []

    def make(name: str = "h", start: bool = True, **overrides) -> Hierophant:
        h = Hierophant(tmp_path / name, **overrides)
        started.append(h)
        return h.start() if start else h

    yield make
    for h in started:
        if h.proc is not None and h.proc.poll() is None:
            h.kill9()


@pytest.fixture
def hierophant(make_hierophant) -> Hierophant:
    return make_hierophant()
