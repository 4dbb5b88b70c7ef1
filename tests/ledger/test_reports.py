"""Spend totals and reports by model, day and session.

Records are built here rather than sent through the simulator: reports group by the
UTC day a request started, and only made-up records can start on other days.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from alltoken_agent import UserError
from alltoken_agent.catalog import ModelPrice
from alltoken_agent.ledger import Ledger, start_of_utc_day
from tests.ledger.helpers import NOON, gateway_cost, make_record

DAY = timedelta(days=1)


@pytest.fixture
def seeded(ledger: Ledger) -> Ledger:
    ledger.prices = {
        "claude-haiku-4-5": ModelPrice("claude-haiku-4-5", Decimal("0.001"), Decimal("0.005"))
    }.get
    ledger.record(make_record(started_at=NOON - DAY, cost=gateway_cost("0.0000100000")))
    ledger.record(
        make_record(
            started_at=NOON,
            cost=gateway_cost("0.0000250000"),
            tags={"session": "work"},
        )
    )
    # Estimated: (10 * 0.001 + 20 * 0.005) / 1000 = 0.00011
    ledger.record(make_record(started_at=NOON, model="claude-haiku-4-5", tags={"session": "work"}))
    # Unknown: no gateway cost, no price.
    ledger.record(make_record(started_at=NOON + timedelta(hours=11), model="mystery-1"))
    return ledger


def test_spent_sums_known_costs_exactly_and_counts_the_unknown(seeded: Ledger) -> None:
    spend = seeded.spent()
    assert spend.total == Decimal("0.0000100000") + Decimal("0.0000250000") + Decimal("0.00011")
    assert (spend.known_requests, spend.unknown_requests, spend.requests) == (3, 1, 4)
    day_two = seeded.spent(since=NOON - timedelta(hours=1), until=NOON + DAY)
    assert day_two.total == Decimal("0.000135") and day_two.unknown_requests == 1
    assert seeded.spent(until=NOON).total == Decimal("0.00001")  # until is exclusive


def test_report_by_model_orders_by_cost_and_keeps_unknown_apart(seeded: Ledger) -> None:
    report = seeded.report(by="model")
    assert [row.key for row in report.rows] == ["claude-haiku-4-5", "gpt-5.4-nano", "mystery-1"]
    haiku, nano, mystery = report.rows
    assert (haiku.cost, haiku.requests, haiku.unknown_cost_requests) == (Decimal("0.00011"), 1, 0)
    assert (nano.cost, nano.requests) == (Decimal("0.0000350000"), 2)
    assert (mystery.cost, mystery.unknown_cost_requests) == (Decimal(0), 1)
    totals = report.totals
    assert (totals.requests, totals.prompt_tokens, totals.completion_tokens) == (4, 40, 80)
    assert totals.cost == Decimal("0.000145") and totals.unknown_cost_requests == 1


def test_report_by_day_uses_utc_days_in_order(seeded: Ledger) -> None:
    report = seeded.report(by="day")
    assert [(row.key, row.requests) for row in report.rows] == [
        ("2026-11-01", 1),
        ("2026-11-02", 3),
    ]
    assert report.rows[1].cost == Decimal("0.000135")
    late = seeded.report(NOON + timedelta(hours=1), by="day")
    assert [row.key for row in late.rows] == ["2026-11-02"]
    assert late.totals.requests == 1 and late.since == NOON + timedelta(hours=1)


def test_report_by_session_and_a_session_filter(seeded: Ledger) -> None:
    report = seeded.report(by="session")
    keys = {row.key: row for row in report.rows}
    assert set(keys) == {"work", None}
    assert keys["work"].cost == Decimal("0.000135") and keys["work"].requests == 2
    only_work = seeded.report(by="model", session="work")
    assert only_work.totals.requests == 2
    document = only_work.to_dict()
    assert document["totals"]["cost"] == "0.0001350000"


def test_today_spent_starts_at_midnight_utc(ledger: Ledger) -> None:
    midnight = start_of_utc_day()
    assert midnight.tzinfo == timezone.utc and midnight.hour == 0
    ledger.record(make_record(started_at=midnight - timedelta(seconds=1), cost=gateway_cost("1")))
    ledger.record(make_record(started_at=midnight, cost=gateway_cost("0.25")))
    assert ledger.today_spent().total == Decimal("0.25")


def test_rows_filters_orders_and_limits(seeded: Ledger) -> None:
    newest = seeded.rows(newest_first=True, limit=2)
    assert [row.model for row in newest] == ["mystery-1", "claude-haiku-4-5"]
    assert [row.model for row in seeded.rows(model="gpt-5.4-nano")] == ["gpt-5.4-nano"] * 2
    with pytest.raises(UserError, match="limit"):
        seeded.rows(limit=0)


def test_bad_report_key_and_naive_times_are_refused(seeded: Ledger) -> None:
    with pytest.raises(UserError, match="group usage by 'provider'"):
        seeded.report(by="provider")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="aware"):
        seeded.spent(since=datetime(2026, 11, 1))
