"""The usage table's migration: its shape, exact money, and a later m003 landing before it."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.ledger import Ledger
from alltoken_agent.store import MIGRATIONS, Store
from alltoken_agent.store.engine import Database
from alltoken_agent.store.migrations import applied_migrations, migrate, migration
from alltoken_agent.store.migrations import registry as migration_registry
from alltoken_agent.store.usage import usage
from tests.ledger.helpers import gateway_cost, make_record


def m003z_late_merge(conn: Connection) -> None:
    """Stands in for a migration numbered below m004 but merged after m004 shipped."""
    conn.exec_driver_sql("CREATE TABLE late_merge (id TEXT PRIMARY KEY)")


def test_m004_creates_the_usage_table_as_the_store_module_describes_it(
    store: Store, db_path: Path
) -> None:
    assert "m004_usage" in store.applied_migrations()
    engine = sa.create_engine(f"sqlite:///{db_path}")
    try:
        inspector = sa.inspect(engine)
        columns = [column["name"] for column in inspector.get_columns("usage")]
        assert columns == list(usage.columns.keys())
        indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("usage")}
        assert indexes["ix_usage_created_at"] == ["created_at"]
        assert indexes["ix_usage_session_created_at"] == ["session", "created_at"]
        assert indexes["ix_usage_model_created_at"] == ["model", "created_at"]
        assert indexes["ix_usage_owner_created_at"] == ["owner", "created_at"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("amount", ["0.0000188000", "123456789.0123456789012345", "0E-10"])
def test_money_round_trips_to_the_last_digit(ledger: Ledger, db_path: Path, amount: str) -> None:
    ledger.record(make_record(cost=gateway_cost(amount)))
    (row,) = ledger.rows()
    assert row.cost == Decimal(amount) and row.cost.as_tuple() == Decimal(amount).as_tuple()
    raw = sqlite3.connect(db_path)
    try:
        (stored,) = raw.execute("SELECT cost FROM usage").fetchone()
    finally:
        raw.close()
    assert Decimal(stored).as_tuple() == Decimal(amount).as_tuple()


def test_an_m003_merged_later_runs_on_the_next_open_and_keeps_the_usage_rows(
    db_path: Path,
) -> None:
    url = f"sqlite:///{db_path}"
    with Store(url) as store:  # the shipped list
        Ledger(store).record(make_record(cost=gateway_cost("0.5")))

    index = next(i for i, (name, _) in enumerate(MIGRATIONS) if name == "m004_usage")
    later = [*MIGRATIONS[:index], ("m003z_late_merge", m003z_late_merge), *MIGRATIONS[index:]]
    db = Database(url)
    try:
        assert migrate(db, later) == ["m003z_late_merge"]
        assert migrate(db, later) == []
        assert set(applied_migrations(db)) == {name for name, _ in later}
    finally:
        db.close()
    with Store(url) as store:
        (row,) = Ledger(store).rows()
        assert row.cost == Decimal("0.5")
    raw = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        raw.close()
    assert {"usage", "late_merge"} <= tables


def test_a_fresh_database_runs_m003_before_m004(tmp_path: Path) -> None:
    order: list[str] = []

    def m003(conn: Connection) -> None:
        order.append("m003")

    def m004(conn: Connection) -> None:
        order.append("m004")
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1

    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert migrate(db, [("m003_x", m003), ("m004_y", m004)]) == ["m003_x", "m004_y"]
    finally:
        db.close()
    assert order == ["m003", "m004"]


def test_registration_orders_by_number_not_by_position_in_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = list(MIGRATIONS)
    monkeypatch.setattr(migration_registry, "MIGRATIONS", registry)
    migration(m003z_late_merge)  # appended below m004_usage, as a late merge would
    names = [name for name, _ in registry]
    assert names == sorted(names)
    assert names.index("m003z_late_merge") == names.index("m004_usage") - 1
    with pytest.raises(RuntimeError, match="defined twice"):
        migration(m003z_late_merge)
