from __future__ import annotations

import signal

import pytest

from tests.integration.harness import Contemplant, Hierophant


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


@pytest.fixture
def make_contemplant(tmp_path):
    """Factory of contemplants (started unless start=False); all are killed at the end."""
    started: list[Contemplant] = []

    def make(hierophant: Hierophant, name: str = "worker", start: bool = True, env: dict | None = None,
             **prover) -> Contemplant:
        c = Contemplant(tmp_path / f"c-{name}", hierophant, name=name, **prover)
        started.append(c)
        return c.start(env=env) if start else c

    yield make
    for c in started:
        if c.proc is not None and c.proc.poll() is None:
            c.proc.send_signal(signal.SIGCONT)
            c.kill9()


@pytest.fixture
def make_prometheus(tmp_path):
    """Factory of real Prometheus servers scraping {job: [host:port, ...]}; skipped (naming the
    Debian package) where Prometheus is not installed; all are stopped at the end."""
    from tests.integration.prometheus_server import MISSING, Prometheus, binary
    if binary() is None:
        pytest.skip(MISSING)
    started: list = []

    def make(jobs: dict[str, list[str]], name: str = "prometheus") -> Prometheus:
        p = Prometheus(tmp_path / name, jobs)
        started.append(p)
        return p.start()

    yield make
    for p in started:
        p.stop()
