"""The quick ledger write: sqlite3 writes exactly the row the store writes, or leaves it.

``ledger/rows.py`` cannot read the store's table without SQLAlchemy, so its column
list, head migration, file name and stored values are pinned here to the store's own.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Config, Usage
from alltoken_agent.ledger import DeferredLedger, Ledger
from alltoken_agent.ledger import rows as quick
from alltoken_agent.store import MIGRATIONS, Store
from alltoken_agent.store.engine import DEFAULT_FILENAME, default_path
from alltoken_agent.store.schema import NAME_LENGTH
from alltoken_agent.store.usage import usage
from tests.gateway.helpers import gateway_for, user
from tests.ledger.helpers import gateway_cost, make_record


def raw_rows(path: Path) -> list[dict[str, Any]]:
    """Every usage row as SQLite holds it, without its id."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        found = [dict(row) for row in conn.execute("SELECT * FROM usage ORDER BY id")]
    finally:
        conn.close()
    for row in found:
        del row["id"]
    return found


def a_store_at_head() -> Path:
    """The default store's file, created and migrated by the store itself."""
    Store().close()
    return default_path()


RECORDS = [
    make_record(
        cost=gateway_cost("0.0000188000"),
        tags={"session": "s" * 300, "owner": "key-1"},
        request_id="req-ü-1",
        stream=True,
        latency=0.2504,
        ttft=0.0415,
        usage=Usage(
            prompt_tokens=9,
            completion_tokens=1,
            total_tokens=10,
            reasoning_tokens=1,
            cached_tokens=2,
        ),
        extra={"note": "ünïcode ☃", "when": datetime(2026, 1, 1), "n": 3},
    ),
    make_record(
        kind="image",
        outcome="rate_limited",
        status=429,
        attempts=4,
        usage=None,
        model=None,
        started_at=datetime(2026, 11, 2, 13, 0, 0, tzinfo=timezone(timedelta(hours=5))),
        simulated=True,
    ),
    make_record(started_at=datetime(2026, 11, 2, 12, 0, 0)),  # naive: taken as UTC
]


def test_the_hand_written_shape_is_the_stores() -> None:
    assert quick.USAGE_COLUMNS == tuple(c.name for c in usage.c if c.name != "id")
    assert quick.HEAD_MIGRATION == MIGRATIONS[-1][0]
    assert quick.DEFAULT_FILENAME == DEFAULT_FILENAME
    assert quick.NAME_LENGTH == NAME_LENGTH
    assert quick.default_database() == default_path()


def test_sqlite3_stores_the_very_row_the_store_stores() -> None:
    path = a_store_at_head()
    prices = None
    assert quick.write_quickly([quick.row_fields(record, prices) for record in RECORDS])
    with Store() as store:
        ledger = Ledger(store)
        for record in RECORDS:
            ledger.record(record)
        read = [*ledger.rows(), *Ledger(store, simulated=True).rows()]
    stored = raw_rows(path)
    assert stored[:3] == stored[3:]  # the same text, numbers and JSON in every column
    assert json.loads(stored[0]["extra"])["note"] == "ünïcode ☃"
    assert stored[0]["cost"] == "0.0000188000" and len(stored[0]["session"]) == 255
    # ... and each reads back through the store as the same UsageRow.
    by_time: dict[Any, list[Any]] = {}
    for row in read:
        by_time.setdefault((row.created_at, row.kind), []).append(row)
    for pair in by_time.values():
        first, second = pair
        assert first.id != second.id and {**vars(first), "id": 0} == {**vars(second), "id": 0}


def test_the_day_sums_count_a_quick_row() -> None:
    a_store_at_head()
    record = make_record(
        cost=gateway_cost("0.5"), started_at=datetime(2026, 1, 3, 9, tzinfo=timezone.utc)
    )
    with Store() as store:
        ledger = Ledger(store)
        before = ledger.spent(since=datetime(2026, 1, 1, tzinfo=timezone.utc))
        assert quick.write_quickly([quick.row_fields(record, None)])
        after = ledger.spent(since=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert (before.requests, after.requests, after.total) == (0, 1, Decimal("0.5"))


def test_a_missing_store_is_left_to_the_store() -> None:
    assert not default_path().exists()
    assert not quick.write_quickly([quick.row_fields(RECORDS[0], None)])
    assert not default_path().exists()  # not created half-way: the store makes and migrates it


def test_a_waiting_spool_is_left_to_the_store() -> None:
    path = a_store_at_head()
    spool = path.with_name(path.name + ".spool")
    spool.write_text("{}\n")
    assert not quick.can_write_quickly()
    assert not quick.write_quickly([quick.row_fields(RECORDS[0], None)])
    assert raw_rows(path) == []


def test_a_store_at_another_migration_is_left_to_the_store() -> None:
    path = a_store_at_head()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ('m999_later', '2026-01-01')"
        )
    conn.close()
    assert not quick.write_quickly([quick.row_fields(RECORDS[0], None)])
    assert raw_rows(path) == []


def test_a_locked_store_is_left_to_the_store() -> None:
    path = a_store_at_head()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert not quick.write_quickly([quick.row_fields(RECORDS[0], None)], wait=0.01)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert raw_rows(path) == []


def test_a_file_that_is_no_database_is_left_to_the_store() -> None:
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database" * 100)
    assert not quick.write_quickly([quick.row_fields(RECORDS[0], None)])
    assert path.read_bytes() == b"not a database" * 100


@pytest.mark.slow
async def test_the_deferred_ledger_writes_the_default_store_without_opening_it(sim: Any) -> None:
    path = a_store_at_head()
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config())
        gateway.add_observer(deferred.observer)
        deferred.prepare()
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
        await deferred.aclose()
        assert deferred.store is None  # written with sqlite3: no store was opened
    (row,) = raw_rows(path)
    # Priced from the catalog after the reply, as the store's path prices it.
    assert row["model"] == "gpt-5.4-nano" and row["cost_source"] == "estimated"
    assert row["cost"] is not None and Decimal(row["cost"]) > 0


@pytest.mark.slow
async def test_the_first_run_opens_the_store_and_records_all_the_same(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config())
        gateway.add_observer(deferred.observer)
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
        await deferred.aclose()
        assert deferred.store is not None  # no file yet: the store made and migrated it
    (row,) = raw_rows(default_path())
    assert row["model"] == "gpt-5.4-nano"
