"""Shared test helpers: paths of the bundled samples and fixtures, and a PostgreSQL server."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = SAMPLES / "realself-000-botox-atrophy.txt"


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this test session (see tests/postgres.py)."""
    from tests.postgres import PostgresUnavailable, TempPostgres, wait_until_ready

    required = bool(os.environ.get("SCRAPER_REQUIRE_POSTGRES"))
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if required:
            pytest.fail("psycopg is not installed (pip install -e '.[test]') and SCRAPER_REQUIRE_POSTGRES is set")
        pytest.skip("psycopg is not installed: pip install -e '.[test]'")
    given = os.environ.get("SCRAPER_TEST_POSTGRES")
    server = None
    try:
        if given:
            wait_until_ready(given)
            dsn = given
        else:
            server = TempPostgres.start()
            dsn = server.dsn
            wait_until_ready(dsn)
    except PostgresUnavailable as exc:
        if required:
            pytest.fail(f"PostgreSQL is required here (SCRAPER_REQUIRE_POSTGRES) but: {exc}")
        pytest.skip(f"no PostgreSQL server for these tests: {exc}")
    try:
        yield dsn
    finally:
        if server is not None:
            server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for one test."""
    from tests.postgres import create_database

    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    return create_database(postgres_server, name)
