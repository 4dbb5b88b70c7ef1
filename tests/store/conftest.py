"""Fixtures for the store: a real SQLite file per test, under pytest's tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from alltoken_agent.store import Store
from tests.server.conftest import pg_url  # noqa: F401 - the PostgreSQL fixture, reused


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened


@pytest.fixture
def raw(db_path: Path, store: Store) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the same file, to check what was really written."""
    connection = sqlite3.connect(db_path)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on a SQLite file, then on PostgreSQL: replicas share one, so both count."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    with Store(url) as opened:
        yield opened
