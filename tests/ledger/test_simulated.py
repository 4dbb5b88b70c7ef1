"""Offline runs go to a book of their own: their made-up costs never count as real spend."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from alltoken_agent import Gateway, request_tags
from alltoken_agent.config import BudgetSettings
from alltoken_agent.ledger import Budgets, Ledger, write_usage_report
from alltoken_agent.store import MIGRATIONS, Store
from alltoken_agent.store.engine import Database
from alltoken_agent.store.migrations import applied_migrations, migrate
from alltoken_agent.store.usage import usage
from tests.gateway.helpers import gateway_for, user
from tests.ledger.helpers import gateway_cost, make_record


def test_m005_adds_the_flag_to_an_older_store_whose_rows_stay_real(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    index = next(i for i, (name, _) in enumerate(MIGRATIONS) if name == "m005_usage_simulated")
    db = Database(url)
    try:
        migrate(db, MIGRATIONS[:index])  # a store as the release before m005 left it
        with db.write() as conn:
            conn.execute(
                usage.insert().values(
                    created_at=datetime.now(timezone.utc),
                    kind="chat",
                    provider="alltoken",
                    model="gpt-5.4-nano",
                    stream=True,
                    outcome="ok",
                    cost=Decimal("0.25"),
                    cost_source="gateway",
                    currency="USD",
                    attempts=1,
                    extra={},
                )
            )
    finally:
        db.close()
    with Store(url) as store:
        assert "m005_usage_simulated" in store.applied_migrations()
        (row,) = Ledger(store).rows()
        assert row.simulated is False and row.cost == Decimal("0.25")
        assert Ledger(store, simulated=True).rows() == []
    db = Database(url)
    try:
        assert migrate(db, MIGRATIONS) == []  # applied once, recorded
        assert "m005_usage_simulated" in applied_migrations(db)
    finally:
        db.close()


async def test_an_offline_gateway_writes_to_the_simulated_book_only(store: Store) -> None:
    real, offline = Ledger(store), Ledger(store, simulated=True)
    real.record(make_record(started_at=datetime.now(timezone.utc), cost=gateway_cost("0.70")))
    async with Gateway.offline() as gateway:
        assert gateway.simulated
        gateway.add_observer(offline.observer)
        with request_tags(session="try"):
            result = await gateway.stream(user("hi"), model="gpt-5.4-nano").collect()
    assert result.cost is not None and result.cost.amount > 0

    (row,) = offline.rows()
    assert row.simulated and row.session == "try" and row.cost == result.cost.amount
    assert offline.spent().total == result.cost.amount
    assert real.spent().total == Decimal("0.70") and real.spent().requests == 1
    assert [r.simulated for r in real.rows()] == [False]
    assert real.report(None, "model").simulated is False
    assert offline.report(None, "model").to_dict()["simulated"] is True

    # A real daily budget sees only real spend: the offline request took nothing from it.
    (daily,) = Budgets.from_config(BudgetSettings(daily_usd=Decimal("1.00")), real)
    assert daily.check(Decimal("0.10")).spent == Decimal("0.70")


async def test_a_gateway_of_a_real_provider_writes_to_the_real_book(store: Store, sim: Any) -> None:
    real = Ledger(store)
    async with gateway_for(sim) as gateway:
        assert not gateway.simulated
        gateway.add_observer(real.observer)
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
    (row,) = real.rows()
    assert not row.simulated
    assert Ledger(store, simulated=True).rows() == []


def test_the_usage_file_says_when_a_request_was_simulated(tmp_path: Path) -> None:
    target = tmp_path / "usage.json"
    write_usage_report(target, [make_record(simulated=True)], status="ok")
    document = json.loads(target.read_text())
    assert document["simulated"] is True and document["requests"][0]["simulated"] is True
    write_usage_report(target, [make_record()], status="ok")
    assert json.loads(target.read_text())["simulated"] is False
