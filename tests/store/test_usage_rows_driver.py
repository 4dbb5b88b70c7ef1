"""Ledger rows written in a batch (a server turn's) read back as rows written one by one.

On SQLite a batch goes through the driver's cursor (store/_driver_sql.py), so the
stored values must be exactly what SQLAlchemy's execution stores: the exact cost, an
unknown cost or usage kept unknown, the extra facts, the flags and an aware time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent.errors import UserError
from alltoken_agent.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository, UsageRow

WHEN = datetime(2026, 12, 6, 21, 7, 3, 123456, tzinfo=timezone.utc)

ROWS = [
    UsageRow(
        created_at=WHEN,
        kind="chat",
        provider="alltoken",
        model="model-a",
        session="s1",
        owner="key_a",
        request_id="req-1",
        stream=True,
        prompt_tokens=12,
        completion_tokens=34,
        reasoning_tokens=5,
        cached_tokens=0,
        cost=Decimal("0.000012345678901234567890"),
        cost_source="reported",
        latency_ms=250,
        ttft_ms=40,
        extra={"tags": {"é": [1, 2.5, None, True]}},
    ),
    UsageRow(
        created_at=WHEN,
        kind="chat",
        provider="alltoken",
        model=None,
        session=None,
        owner="key_a",
        request_id=None,
        stream=False,
        prompt_tokens=None,  # the gateway said nothing: unknown, never 0
        completion_tokens=None,
        reasoning_tokens=None,
        cached_tokens=None,
        cost=None,
        cost_source="unknown",
        outcome="rate_limited",
        status=429,
        attempts=3,
        simulated=True,
    ),
]


def _read(repo: UsageRepository, owner: str) -> list[UsageRow]:
    rows = [
        *repo.rows(UsageQuery(owner=owner)),
        *repo.rows(UsageQuery(owner=owner, simulated=True)),
    ]
    return [replace(row, id=None) for row in rows]


def test_a_batch_of_ledger_rows_reads_back_as_rows_added_one_by_one(any_store: Store) -> None:
    repo = UsageRepository(any_store._db)
    for row in ROWS:
        repo.add(replace(row, owner="one_by_one"))
    repo.add_many([replace(row, owner="batch") for row in ROWS])
    alone = _read(repo, "one_by_one")
    batch = _read(repo, "batch")
    assert [replace(row, owner="x") for row in batch] == [replace(row, owner="x") for row in alone]
    assert [replace(row, owner="x") for row in batch] == [replace(r, owner="x") for r in ROWS]
    assert batch[0].cost == Decimal("0.000012345678901234567890")  # every digit kept
    assert batch[0].created_at == WHEN and batch[0].created_at.tzinfo is not None
    assert batch[1].cost is None and batch[1].prompt_tokens is None


def test_a_batch_with_a_value_json_cannot_hold_stores_none_of_it(any_store: Store) -> None:
    repo = UsageRepository(any_store._db)
    bad = replace(ROWS[0], owner="bad", extra={"ids": {1, 2}})
    with pytest.raises(UserError, match="JSON"):
        repo.add_many([replace(ROWS[1], owner="bad"), bad])
    assert _read(repo, "bad") == []


def test_on_sqlite_a_batch_of_ledger_rows_is_inserted_on_the_driver(tmp_path: Path) -> None:
    # SQLAlchemy's execution cost several times SQLite's insert for the row a server
    # turn's save carries (bench/store_turns.py).
    with Store(f"sqlite:///{tmp_path / 'driver.db'}") as store:
        repo = UsageRepository(store._db)
        engine = store._db.engine
        through_sqlalchemy: list[str] = []
        traced: list[str] = []

        @sa.event.listens_for(engine, "before_cursor_execute")
        def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
            through_sqlalchemy.append(sql)

        @sa.event.listens_for(engine, "begin")
        def begin(conn: Any) -> None:
            conn.connection.driver_connection.set_trace_callback(traced.append)

        repo.add_many(list(ROWS))
        assert not any(sql.lstrip().upper().startswith("INSERT") for sql in through_sqlalchemy)
        assert any(sql.upper().startswith("INSERT INTO USAGE ") for sql in traced)
        assert len(_read(repo, "key_a")) == 2


def test_a_batch_wider_than_one_insert_holds_goes_in_parts_in_order(any_store: Store) -> None:
    # On SQLite a batch is one multi-row INSERT of at most 999 values (45 rows of 22
    # columns: store/_driver_sql.py); 100 rows take three, all kept, in their order.
    repo = UsageRepository(any_store._db)
    rows = [replace(ROWS[i % 2], owner="wide", attempts=i + 1) for i in range(100)]
    repo.add_many(rows)
    assert [row.attempts for row in repo.rows(UsageQuery(owner="wide"))] == [
        row.attempts for row in rows if not row.simulated
    ]
    assert _read(repo, "wide") == [
        *(row for row in rows if not row.simulated),
        *(row for row in rows if row.simulated),
    ]
