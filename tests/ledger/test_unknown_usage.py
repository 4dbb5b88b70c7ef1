"""The ledger keeps unknown usage and invalid costs unknown; they never lower a spend."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.catalog import price_lookup
from alltoken_agent.ledger import Budget, Ledger, RunningBudget
from alltoken_agent.store import Store
from tests.gateway.helpers import gateway_for, user
from tests.ledger.helpers import NOON, gateway_cost, make_record, simulator_prices

FAULT = "X-Sim-Fault"
MODEL = "gpt-5.4-nano"


async def _priced_stream(sim: Any, ledger: Ledger, fault: str) -> None:
    """One streamed request under ``fault``, recorded by a ledger that knows the prices."""
    async with gateway_for(sim) as gateway:
        ledger.prices = price_lookup(await simulator_prices(gateway, sim), {})
        gateway.add_observer(ledger.observer)
        await gateway.stream(user("hi"), model=MODEL, extra_headers={FAULT: fault}).collect()


async def test_a_reply_without_usage_and_done_is_a_row_of_unknown_tokens_and_cost(
    sim: Any, ledger: Ledger, db_path: Path
) -> None:
    await _priced_stream(sim, ledger, "no_usage_done")
    with Store(f"sqlite:///{db_path}") as reopened:
        (row,) = Ledger(reopened).rows()
    assert row.outcome == "ok"
    assert (row.prompt_tokens, row.completion_tokens, row.cost) == (None, None, None)
    assert row.cost_source == "unknown"  # prices were known, but no tokens to price
    assert row.extra["usage_unknown"] == "usage_missing"
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("SELECT prompt_tokens, cost FROM usage").fetchone() == (None, None)
    finally:
        raw.close()
    spend = ledger.spent()
    assert (spend.total, spend.unknown_requests) == (Decimal(0), 1)
    report = ledger.report()
    assert report.totals.unknown_cost_requests == 1 and not report.totals.cost_known
    assert report.totals.unknown_usage_requests == 1 and not report.totals.usage_known
    assert report.to_dict()["totals"]["unknown_usage_requests"] == 1


@pytest.mark.parametrize("value", ["-1", "NaN", "1e999999999", '"lots"', "null", '"-0.5"'])
async def test_an_invalid_gateway_cost_is_unknown_not_estimated_nor_stored(
    sim: Any, ledger: Ledger, value: str
) -> None:
    await _priced_stream(sim, ledger, f"bad_cost:{value}")
    (row,) = ledger.rows()
    assert row.cost is None and row.cost_source == "unknown"
    assert row.extra["cost_unknown"] == "cost_invalid"
    assert row.prompt_tokens is not None and row.prompt_tokens > 0  # the usage was fine
    assert ledger.spent().unknown_requests == 1


async def test_an_invalid_usage_leaves_tokens_unknown_but_keeps_a_valid_cost(
    sim: Any, ledger: Ledger
) -> None:
    await _priced_stream(sim, ledger, "bad_usage:completion_tokens=-3")
    (row,) = ledger.rows()
    assert (row.prompt_tokens, row.completion_tokens) == (None, None)
    assert row.cost_source == "gateway" and row.cost is not None and row.cost > 0
    assert row.extra["usage_unknown"] == "usage_invalid"


def test_a_negative_cost_recorded_by_hand_is_unknown(ledger: Ledger) -> None:
    ledger.record(make_record(cost=gateway_cost("0.5")))
    row = ledger.record(make_record(cost=gateway_cost("-0.25")))
    assert row.cost is None and row.cost_source == "unknown"
    spend = ledger.spent()
    assert (spend.total, spend.unknown_requests) == (Decimal("0.5"), 1)


def test_a_negative_cost_already_in_the_store_never_lowers_spend_or_budgets(
    store: Store, ledger: Ledger, db_path: Path
) -> None:
    # Rows an older version stored as the gateway sent them.
    ledger.record(make_record(cost=gateway_cost("2"), started_at=NOON))
    ledger.record(make_record(cost=gateway_cost("1"), started_at=NOON + timedelta(minutes=1)))
    raw = sqlite3.connect(db_path)
    try:
        raw.execute("UPDATE usage SET cost = '-1' WHERE id = 2")
        raw.commit()
    finally:
        raw.close()
    spend = ledger.spent()
    assert (spend.total, spend.known_requests, spend.unknown_requests) == (Decimal(2), 1, 1)
    report = ledger.report()
    assert report.totals.cost == Decimal(2) and report.totals.unknown_cost_requests == 1
    budget = Budget(Decimal("2.5"), ledger.spent, label="test budget")
    assert budget.spent() == Decimal(2)


def test_a_running_budget_never_counts_a_negative_cost() -> None:
    budget = RunningBudget(Decimal(1))
    budget.add(Decimal("0.75"))
    budget.add(Decimal("-0.5"))
    budget.add(Decimal("NaN"))
    assert budget.total == Decimal("0.75") and budget.unknown_requests == 2
