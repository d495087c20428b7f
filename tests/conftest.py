"""Session-wide real servers (tests/servers.py): one PostgreSQL cluster and one SeaweedFS S3
server per test session, started on first use; each test gets its own database or bucket.
Tests that need one are skipped, naming the missing package, when it is not installed."""
from __future__ import annotations

import secrets

import pytest

from tests import servers


@pytest.fixture(scope="session")
def pg_server():
    problem = servers.missing_postgres()
    if problem:
        pytest.skip(problem)
    server = servers.PostgresServer()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def s3_server():
    problem = servers.missing_s3()
    if problem:
        pytest.skip(problem)
    server = servers.SeaweedS3()
    yield server
    server.remove()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the session's PostgreSQL."""
    return pg_server.create_database(f"test_{secrets.token_hex(6)}")


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh, empty bucket on the session's S3 server."""
    return s3_server.create_bucket(f"test-{secrets.token_hex(6)}")
