"""Fixtures for the ledger: a real SQLite store per test, under pytest's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{db_path}") as opened:
        yield opened


@pytest.fixture
def ledger(store: Store) -> Ledger:
    return Ledger(store)
