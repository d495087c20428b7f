"""Session-wide real servers (tests/servers.py): one PostgreSQL cluster and one SeaweedFS S3
server per test session, started on first use; each test gets its own database or bucket.
Tests that need one are skipped, naming the missing package, when it is not installed."""
from __future__ import annotations

import secrets

import pytest

from tests import servers


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
