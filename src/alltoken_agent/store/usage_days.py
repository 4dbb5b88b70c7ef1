"""Whole days of usage summed once (SQLite), so a report over a large ledger reads sums.

A report sums every matching row, and on SQLite that is about a microsecond a row: a
second for a million. Days that are over do not change, except when a late row lands
in one (a spool replayed, a session renamed), so their sums are kept in
``usage_day_sums`` (migration ``m011_usage_day_sums``): one row per UTC day, book,
owner, session, model and shape of the cost text, holding what the report's own
GROUP BY computes (counts, token sums, and the exact integer sum of the cost digits of
that shape). ``usage_days_summed`` lists the days kept. Triggers forget a day whenever
one of its rows is inserted, changed or deleted, so a kept day is always the sum of
its rows; the next report sums it again.

A report then reads the kept days' sums, and the rows themselves only for the part of
its range that is not whole days (before the first midnight, and from today's or the
end's midnight on). The first report over days not kept yet sums them (one GROUP BY over
their rows, in a write transaction) and keeps them; a store it cannot write to (locked
for longer than a report should wait) is read row by row, as before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.engine import Database
from alltoken_agent.store.usage import UsageQuery

_FILL = (
    "INSERT INTO usage_day_sums SELECT substr(created_at, 1, 10) AS day, simulated, owner, "
    "session, model, length(cost), instr(cost, '.'), count(*), coalesce(sum(prompt_tokens), 0), "
    "coalesce(sum(completion_tokens), 0), "
    "sum(CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN 1 ELSE 0 END), "
    "count(cost), sum(CAST(replace(cost, '.', '') AS INTEGER)), "
    "sum(CASE WHEN cost < '0' OR cost >= ':' THEN 1 ELSE 0 END) "
    "FROM usage WHERE {column} >= :low AND {column} < :high "
    "AND substr(created_at, 1, 10) NOT IN (SELECT day FROM usage_days_summed) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7"
)
"""Sum the rows of the days in [low, high) that are not kept yet (same columns as a report).

``{column}`` is ``created_at`` (walk its index: a few days) or ``+created_at`` (scan
the table: reading most of it through the index costs more than reading it all)."""

SCAN_DAYS = 7
"""Past this many days to sum, the table is scanned instead of its time index walked."""

_KEYS = {"model": "model", "session": "session", "day": "day", None: "NULL"}


def whole_days(query: UsageQuery, now: datetime) -> tuple[date | None, date] | None:
    """The whole UTC days inside ``query``'s range that are over: ``[first, end)``.

    ``first`` None means from the oldest row on (no ``since``). None when there is no
    such day (a range inside today, or shorter than a day).
    """
    today = now.astimezone(timezone.utc).date()
    end = today
    if query.until is not None:
        end = min(end, query.until.astimezone(timezone.utc).date())
    first: date | None = None
    if query.since is not None:
        since = query.since.astimezone(timezone.utc)
        first = since.date() if since.time() == time(0) else since.date() + timedelta(days=1)
        if first >= end:
            return None
    return first, end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def raw_parts(query: UsageQuery, days: tuple[date | None, date]) -> list[UsageQuery]:
    """The parts of ``query``'s range outside the whole ``days``: read from the rows."""
    first, end = days
    parts = []
    if first is not None and query.since is not None and query.since < _midnight(first):
        parts.append(replace(query, until=_midnight(first)))
    parts.append(replace(query, since=_midnight(end)))
    return parts


def missing_days(conn: Connection, first: date | None, end: date) -> tuple[str, str] | None:
    """The span of days in ``[first, end)`` holding rows whose sums are not kept."""
    if first is None:
        oldest = conn.scalar(sa.text("SELECT min(created_at) FROM usage"))
        if oldest is None:
            return None
        first = date.fromisoformat(str(oldest)[:10])
    wanted = [first + timedelta(days=n) for n in range((end - first).days)]
    if not wanted:
        return None
    kept = set(
        conn.scalars(
            sa.text("SELECT day FROM usage_days_summed WHERE day >= :low AND day < :high"),
            {"low": wanted[0].isoformat(), "high": end.isoformat()},
        )
    )
    missing = [day.isoformat() for day in wanted if day.isoformat() not in kept]
    if not missing:
        return None
    return missing[0], (date.fromisoformat(missing[-1]) + timedelta(days=1)).isoformat()


def keep_days(db: Database, days: tuple[date | None, date]) -> bool:
    """Sum and keep the days of ``days`` not kept yet; whether all of them are kept now.

    One write transaction, only when some day is missing. False when the store is busy
    (another writer) or a sum does not fit 64 bits: the caller reads the rows instead.
    """
    first, end = days
    with db.read() as conn:
        if missing_days(conn, first, end) is None:
            return True
    try:
        with db.begin(write=True) as conn:
            span = missing_days(conn, first, end)  # again: another process may have kept them
            if span is None:
                return True
            low, high = span
            start = date.fromisoformat(low)
            count = (date.fromisoformat(high) - start).days
            column = "+created_at" if count > SCAN_DAYS else "created_at"
            conn.execute(sa.text(_FILL.format(column=column)), {"low": low, "high": high})
            days_in = [{"day": (start + timedelta(days=n)).isoformat()} for n in range(count)]
            conn.execute(sa.text("INSERT OR IGNORE INTO usage_days_summed VALUES (:day)"), days_in)
    except sa.exc.OperationalError:
        # Locked past the store's wait, or a digit sum past 64 bits: nothing is kept (the
        # transaction rolled back) and the report reads the rows, as it always could.
        return False
    return True


def kept_sums(
    conn: Connection, query: UsageQuery, by: str | None, days: tuple[date | None, date]
) -> list[tuple[Any, ...]]:
    """The kept sums of ``days`` for ``query``, grouped by key and cost shape.

    Rows as the report's own GROUP BY gives them: key, requests, prompt tokens,
    completion tokens, unknown usage, cost length, dot position, costs, digit sum, odd.
    """
    first, end = days
    where = ["day < :end", "simulated = :simulated"]
    values: dict[str, Any] = {"end": end.isoformat(), "simulated": query.simulated}
    if first is not None:
        where.append("day >= :first")
        values["first"] = first.isoformat()
    where.append("owner IS NULL" if query.owner is None else "owner = :owner")
    values["owner"] = query.owner
    for name in ("session", "model"):
        if getattr(query, name) is not None:
            where.append(f"{name} = :{name}")
            values[name] = getattr(query, name)
    key = _KEYS[by]
    grouped = "cost_length, cost_dot" if by is None else f"{key}, cost_length, cost_dot"
    statement = sa.text(
        f"SELECT {key}, sum(requests), sum(prompt_tokens), sum(completion_tokens), "
        "sum(unknown_usage), cost_length, cost_dot, sum(costs), sum(cost_digits), "
        f"sum(odd_costs) FROM usage_day_sums WHERE {' AND '.join(where)} GROUP BY {grouped}"
    )
    return [tuple(row) for row in conn.execute(statement, values)]
