from __future__ import annotations

import signal

import pytest

from tests.integration.harness import Contemplant, Hierophant


STORES = ("local", "pg+s3")


def pytest_generate_tests(metafunc):
    """Modules that set `BOTH_STORES = True` run every test on both stores: SQLite + files
    ("local") and PostgreSQL + S3 ("pg+s3", real servers, skipped when not installed)."""
    if getattr(metafunc.module, "BOTH_STORES", False) and "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", STORES, indirect=True)


@pytest.fixture
def store_backend(request) -> dict:
    """Hierophant overrides for the store under test: {} for SQLite + files, else a fresh
    PostgreSQL database and S3 bucket (shared by every hierophant of the test: one "cluster")."""
    if getattr(request, "param", "local") == "local":
        return {}
    pg_url = request.getfixturevalue("pg_url")
    s3 = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    # A short takeover: a hierophant restarted after kill -9 waits for its old lease to run out.
    return {"store": {"url": pg_url}, "ha": {"takeover_secs": 8}, "env": s3.env(), "s3": s3.client(),
            "artifacts": {"backend": "s3", "s3_endpoint": s3.endpoint, "s3_bucket": bucket,
                          "s3_region": "us-east-1"}}


@pytest.fixture
def make_hierophant(tmp_path, store_backend):
    """Factory of started hierophants; all are stopped at the end of the test."""
    started: list[Hierophant] = []

    def make(name: str = "h", start: bool = True, **overrides) -> Hierophant:
        merged = dict(store_backend)
        for k, v in overrides.items():
            both = isinstance(v, dict) and isinstance(merged.get(k), dict)
            merged[k] = {**merged[k], **v} if both else v
        h = Hierophant(tmp_path / name, **merged)
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
