"""Session-wide parts of the suite.

- No process started by the run outlives it (tests/leftovers.py): checked when the session ends.
- Real servers (tests/servers.py): one PostgreSQL cluster and one SeaweedFS S3 server per test
  session, started on first use; each test gets its own database or bucket. Tests that need
  one are skipped, naming the missing package, when it is not installed.
"""
from __future__ import annotations

import secrets

import pytest

from tests import leftovers, servers

RUN_ID = leftovers.mark_run()
LEFTOVER_GRACE_SECS = 15.0


def pytest_sessionfinish(session, exitstatus) -> None:
    left = leftovers.wait_gone(RUN_ID, LEFTOVER_GRACE_SECS)
    if not left:
        return
    leftovers.kill(left)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by this test run were still running after it "
             f"(killed now):"] + [f"  pid {pid}: {cmd}" for pid, cmd in left]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = 1


def _server(missing, make):
    problem = missing()
    if problem:
        pytest.skip(problem)
    server = make()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def pg_server():
    yield from _server(servers.missing_postgres, servers.PostgresServer)


@pytest.fixture(scope="session")
def s3_server():
    yield from _server(servers.missing_s3, servers.SeaweedS3)


@pytest.fixture
def own_pg():
    """A PostgreSQL of this test alone, which it may stop and start."""
    yield from _server(servers.missing_postgres, servers.PostgresServer)


@pytest.fixture
def own_s3():
    """An S3 server of this test alone, which it may stop and start."""
    yield from _server(servers.missing_s3, servers.SeaweedS3)


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty schema on the session's PostgreSQL (its URL selects it: search_path)."""
    return pg_server.create_schema(f"test_{secrets.token_hex(6)}")


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh, empty bucket on the session's S3 server."""
    return s3_server.create_bucket(f"test-{secrets.token_hex(6)}")
