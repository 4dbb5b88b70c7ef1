"""Whole days of usage summed once and kept (store/usage_days.py): reports read the sums.

Rows are made up on past days (only made-up records start on other days); every
figure is checked against sums computed here from the rows themselves.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store
from tests.ledger.helpers import gateway_cost, make_record

DAY = timedelta(days=1)
NOW = datetime.now(timezone.utc)
MODELS = ("gpt-5.4-nano", "glm-5", "mystery-1")


def seed(
    ledger: Ledger, days: int = 6, per_day: int = 12
) -> list[tuple[datetime, str, Decimal | None, str | None, bool]]:
    """Rows spread over the last ``days`` days and today: (time, model, cost, session, sim)."""
    rng = random.Random(days * per_day)
    rows = []
    for index in range(days * per_day):
        when = NOW - timedelta(seconds=rng.randrange(days * 24 * 3600))
        cost = None if index % 7 == 0 else Decimal(f"0.{rng.randrange(10**10):010d}")
        model = MODELS[index % 3]
        session = ("work", None)[index % 2]
        simulated = index % 5 == 0
        ledger.record(
            make_record(
                started_at=when,
                model=model,
                cost=None if cost is None else gateway_cost(format(cost, "f")),
                tags={"session": session} if session else {},
                simulated=simulated,
            )
        )
        rows.append((when, model, cost, session, simulated))
    return rows


def expected(
    rows: list[tuple[datetime, str, Decimal | None, str | None, bool]],
    since: datetime,
    *,
    simulated: bool = False,
    key: int = 1,
) -> dict[object, tuple[int, Decimal, int]]:
    """Per key: requests, exact sum of known costs, unknown costs."""
    out: dict[object, tuple[int, Decimal, int]] = {}
    for row in rows:
        if row[0] < since or row[4] != simulated:
            continue
        group = row[key] if key >= 0 else row[0].date().isoformat()
        requests, total, unknown = out.get(group, (0, Decimal(0), 0))
        cost = row[2]
        out[group] = (requests + 1, total + (cost or 0), unknown + (cost is None))
    return out


def figures(ledger: Ledger, since: datetime, by: str) -> dict[object, tuple[int, Decimal, int]]:
    report = ledger.report(since, by)  # type: ignore[arg-type]
    return {row.key: (row.requests, row.cost, row.unknown_cost_requests) for row in report.rows}


def kept_days(path: Path) -> set[str]:
    with sqlite3.connect(path) as raw:
        return {day for (day,) in raw.execute("SELECT day FROM usage_days_summed")}


@pytest.mark.slow
def test_reports_keep_the_whole_days_and_match_the_rows(
    ledger: Ledger, store: Store, db_path: Path
) -> None:
    rows = seed(ledger)
    since = NOW - timedelta(days=4, hours=7)  # starts in the middle of a day
    for by, key in (("model", 1), ("session", 3), ("day", -1)):
        assert figures(ledger, since, by) == expected(rows, since, key=key)
    offline = Ledger(store, simulated=True)
    assert figures(offline, since, "model") == expected(rows, since, simulated=True)
    # The days between the first midnight and today's are kept; today is not (not over).
    days = kept_days(db_path)
    first = (since + DAY).date()
    assert {(first + n * DAY).isoformat() for n in range((NOW.date() - first).days)} <= days
    assert NOW.date().isoformat() not in days and since.date().isoformat() not in days
    # Read again from the kept sums: the same figures.
    assert figures(ledger, since, "model") == expected(rows, since)


def test_a_late_row_in_a_kept_day_is_counted_and_unknown_stays_unknown(
    ledger: Ledger, db_path: Path
) -> None:
    rows = seed(ledger)
    since = NOW - timedelta(days=5)
    figures(ledger, since, "model")  # keeps the days
    late = (NOW - 2 * DAY).replace(hour=3)  # a replayed spool row lands on a kept day
    ledger.record(make_record(started_at=late, model="glm-5", cost=None))
    ledger.record(make_record(started_at=late, model="glm-5", cost=gateway_cost("0.25")))
    rows += [(late, "glm-5", None, None, False), (late, "glm-5", Decimal("0.25"), None, False)]
    assert late.date().isoformat() not in kept_days(db_path)  # forgotten until summed again
    report = figures(ledger, since, "model")
    assert report == expected(rows, since)
    assert report["glm-5"][2] >= 1  # the unknown cost is counted apart, never as 0


def test_a_renamed_session_takes_its_kept_spend_along(ledger: Ledger, store: Store) -> None:
    rows = seed(ledger)
    since = NOW - timedelta(days=6)
    record = store.sessions.create_session(name="work")
    before = figures(ledger, since, "session")
    assert before == expected(rows, since, key=3)
    assert store.sessions.rename_session(record.id, "job")
    after = figures(ledger, since, "session")
    assert after["job"] == before["work"] and "work" not in after


def test_kept_sums_dropped_by_hand_are_summed_again(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    with Store(f"sqlite:///{path}") as store:
        ledger = Ledger(store)
        rows = seed(ledger, days=3)
        since = NOW - timedelta(days=3)
        assert figures(ledger, since, "model") == expected(rows, since)
        with sqlite3.connect(path) as raw:
            old = ((NOW - DAY).date().isoformat(),)
            raw.execute("DELETE FROM usage_days_summed WHERE day < ?", old)
            raw.execute("DELETE FROM usage_day_sums WHERE day < ?", old)
        assert figures(ledger, since, "model") == expected(rows, since)
