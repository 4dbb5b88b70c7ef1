"""Spend totals and reports by model, day and session.

Records are built here rather than sent through the simulator: reports group by the
UTC day a request started, and only made-up records can start on other days.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent import UserError
from alltoken_agent.catalog import ModelPrice
from alltoken_agent.ledger import Ledger, ReportRow, start_of_utc_day
from alltoken_agent.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository, UsageRow
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


def _reference(rows: list[UsageRow], by: str) -> dict[str | None, tuple[Any, ...]]:
    """Each group's figures summed one row at a time in Python, as reports used to."""
    groups: dict[str | None, list[Any]] = {}
    for row in rows:
        key = {"model": row.model, "session": row.session}.get(by) or (
            row.created_at.date().isoformat() if by == "day" else None
        )
        group = groups.setdefault(key, [0, 0, 0, Decimal(0), 0, 0])
        group[0] += 1
        group[1] += row.prompt_tokens or 0
        group[2] += row.completion_tokens or 0
        if row.cost is None or row.cost < 0:
            group[4] += 1
        else:
            group[3] += row.cost
        if row.prompt_tokens is None and row.completion_tokens is None:
            group[5] += 1
    return {key: tuple(values) for key, values in groups.items()}


def _figures(row: ReportRow) -> tuple[Any, ...]:
    return (
        row.requests,
        row.prompt_tokens,
        row.completion_tokens,
        row.cost,
        row.unknown_cost_requests,
        row.unknown_usage_requests,
    )


@pytest.mark.slow
def test_reports_summed_by_the_database_match_row_by_row_sums_to_the_last_digit(
    ledger: Ledger, store: Store, db_path: Path
) -> None:
    """Costs of every shape: many digits, integers, unknown, and text no writer makes."""
    rng = random.Random(7)
    repository = UsageRepository.of(store)
    rows = []
    costs = [None, Decimal("12"), Decimal("0"), Decimal("0.0000188000"), Decimal("1.5")]
    for i in range(400):
        cost = rng.choice(costs) if i % 3 else Decimal(rng.randrange(10**12)).scaleb(-14)
        usage = None if i % 11 == 0 else (rng.randrange(5000), rng.randrange(900))
        row = UsageRow(
            created_at=NOON + timedelta(hours=rng.randrange(-60, 60)),
            kind="chat",
            provider="alltoken",
            model=rng.choice(["gpt-5.4-nano", "glm-5", None]),
            session=rng.choice(["work", "home", None]),
            owner=None,
            request_id=f"r{i}",
            stream=True,
            prompt_tokens=None if usage is None else usage[0],
            completion_tokens=None if usage is None else usage[1],
            reasoning_tokens=None,
            cached_tokens=None,
            cost=cost,
            cost_source="unknown" if cost is None else "gateway",
        )
        rows.append(repository.add(row))
    # Text the ledger never writes, but a row is data: a negative cost (unknown, as a
    # Decimal check would say) and more fraction digits than SQL sums (exact anyway).
    odd = {rows[0].id: "-0.5", rows[1].id: "0.1234567890123456789012345", rows[2].id: "7."}
    with sqlite3.connect(db_path) as raw:
        for row_id, text in odd.items():
            raw.execute("UPDATE usage SET cost = ? WHERE id = ?", (text, row_id))
    stored = repository.rows(UsageQuery())
    for by in ("model", "day", "session"):
        report = ledger.report(by=by)  # type: ignore[arg-type]
        expected = _reference(stored, by)
        assert {row.key: _figures(row) for row in report.rows} == expected
        assert [format(row.cost, "f") for row in report.rows] == [
            format(expected[row.key][3], "f") for row in report.rows
        ]  # the same digits printed, not only equal values
        total = _reference(stored, "none")[None]
        assert _figures(report.totals) == total
        assert format(report.totals.cost, "f") == format(total[3], "f")
    spend = ledger.spent(since=NOON)
    later = _reference([r for r in stored if r.created_at >= NOON], "none")[None]
    assert (spend.total, spend.unknown_requests, spend.requests) == (later[3], later[4], later[0])


def test_a_report_is_one_grouped_query_not_a_read_of_every_row(
    seeded: Ledger, store: Store
) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = store._db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        report = seeded.report(by="day")
        spend = seeded.spent()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert report.totals.requests == spend.requests == 4
    # Rows of the ledger are only ever aggregated (the kept day sums are tables of their own).
    reads = [s for s in statements if "FROM usage" in s.replace("FROM usage_day", "")]
    assert reads and all("count(" in s.lower() or "min(created_at)" in s for s in reads)
    assert any("GROUP BY" in s for s in reads)
    assert not any("ORDER BY usage.created_at" in s for s in reads)  # no row-by-row read


def test_sums_past_64_bits_and_costs_with_many_digits_stay_exact(ledger: Ledger) -> None:
    big = Decimal("999999999999999999")  # 18 digits: 20 of them overflow a 64-bit sum
    fine = Decimal("0.000000000000000001")  # 18 fraction digits, read rather than summed
    for amount in [big] * 20 + [fine] * 3:
        ledger.record(make_record(cost=gateway_cost(format(amount, "f"))))
    report = ledger.report(by="model")
    assert report.totals.cost == big * 20 + fine * 3
    assert format(report.totals.cost, "f") == format(big * 20 + fine * 3, "f")
    assert report.totals.unknown_cost_requests == 0 and report.totals.requests == 23
    assert ledger.spent().total == big * 20 + fine * 3
