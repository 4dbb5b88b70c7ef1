"""Fixtures of the batch tests: a SQLite store, or a PostgreSQL database of a test's own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from alltoken_agent.store import Store
from tests.server import conftest as server_fixtures

postgres = server_fixtures.pg_url
"""The server tests' PostgreSQL fixture (``pg_url``), reused here under this name."""


@pytest.fixture
def own_database(postgres: str) -> Iterator[str]:
    """A fresh database in the session's cluster: no other test's queued lines in it."""
    name = f"b3_{os.urandom(6).hex()}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """The store a test runs on: the default SQLite file (None), or PostgreSQL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("own_database")
    return url


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store of the test's own, in a SQLite file."""
    with Store(f"sqlite:///{tmp_path / 'batch.db'}") as opened:
        yield opened
