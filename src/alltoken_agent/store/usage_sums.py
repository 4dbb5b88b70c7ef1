"""Usage totals grouped in SQL (by model, UTC day or session), exact to the last digit.

Reports used to read every matching row into Python (microseconds a row, so seconds
for a large ledger). Here the database sums. Costs are exact decimal text
(:class:`~alltoken_agent.store.usage.DecimalText`), and SQL ``SUM`` over text gives
a float, so:

- PostgreSQL sums ``CAST(cost AS NUMERIC)``: exact, and its scale is the largest
  scale summed, as with :class:`~decimal.Decimal` addition.
- SQLite has no exact decimal type. Rows are grouped by the shape of their cost text
  too (its length and where its dot is): within one shape every cost has the same
  fraction digits, so its digits without the dot are an integer, summed exactly by
  SQL and scaled back here, with the scale a :class:`~decimal.Decimal` sum would print.
  Few functions per row is what keeps this near a plain ``COUNT``/``SUM`` scan.
- A cost not in the shape the ledger writes (``format(Decimal, "f")``: digits and one
  dot; here a leading non-digit, or more than 18 digits) is not summed in SQL: its
  group's costs are read and handed back as they are, for the ledger to judge. A sum
  past 64 bits falls back to reading the rows.
- Any other database reads the rows and sums them in Python, as before.

An unknown cost (NULL) is never a zero: it is counted, and the caller reports it apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.usage import CostFacts, UsageQuery, UsageRepository, usage
from alltoken_agent.store.usage_days import (
    keep_days,
    kept_sums,
    missing_days,
    raw_parts,
    whole_days,
)

GroupBy = Literal["model", "day", "session"]

MAX_DIGITS = 18
"""Digits of a cost summed in SQL on SQLite (they fit a 64-bit integer); longer: Python."""
FRACTION_DIGITS = 18


@dataclass
class UsageSums:
    """What one group of requests used, as summed by the database."""

    key: str | None
    """The model, the UTC day (``2026-11-01``) or the session; None for "none" or totals."""
    requests: int = 0
    prompt_tokens: int = 0
    """Summed over the requests that reported it; a missing count adds nothing."""
    completion_tokens: int = 0
    unknown_usage: int = 0
    """Requests with neither token count (their tokens are unknown, not 0)."""
    cost: Decimal = field(default_factory=lambda: Decimal(0))
    """Exact sum of the plain costs (see the module docstring)."""
    plain_costs: int = 0
    """Requests whose cost is summed in ``cost``."""
    other_costs: list[Decimal] = field(default_factory=list)
    """Costs not summed in SQL (not plain digits): for the caller to check and add."""


def sum_usage(
    repository: UsageRepository, query: UsageQuery, by: GroupBy | None = None
) -> list[UsageSums]:
    """Sum the requests matching ``query``, one :class:`UsageSums` per group (or one total).

    Groups come in no particular order. With ``by`` None there is one group (key None),
    or none when no request matches. One read transaction.
    """
    # Same package: the repository hands its Database to the store's own queries.
    db = repository._db
    days = None
    if db.engine.dialect.name == "sqlite":
        # Whole days that are over are summed once and kept (store/usage_days.py).
        days = whole_days(query, datetime.now(timezone.utc))
        if days is not None and not keep_days(db, days):
            days = None
    with db.read() as conn:
        return usage_sums(conn, query, by, days=days)


def usage_sums(
    conn: Connection,
    query: UsageQuery,
    by: GroupBy | None,
    *,
    days: tuple[date | None, date] | None = None,
) -> list[UsageSums]:
    """As :func:`sum_usage`, in the open transaction ``conn``.

    ``days`` (SQLite): whole days whose kept sums stand for their rows, when every one
    of them is still kept in this transaction (see ``store/usage_days.py``).
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return _sqlite(conn, query, by, days)
    if dialect == "postgresql":
        return _postgresql(conn, query, by)
    return _python(conn, query, by)


def _key(
    by: GroupBy | None, day: sa.ColumnElement[Any], scan: bool = False
) -> sa.ColumnElement[Any]:
    c = usage.c
    if by == "model":
        return _column(c.model, scan)
    if by == "session":
        return _column(c.session, scan)
    if by == "day":
        return day
    return sa.null()


def _common(key: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    c = usage.c
    no_usage = sa.and_(c.prompt_tokens.is_(None), c.completion_tokens.is_(None))
    return [
        key.label("key"),
        sa.func.count().label("requests"),
        sa.func.coalesce(sa.func.sum(c.prompt_tokens), 0),  # SUM skips a NULL: adds nothing
        sa.func.coalesce(sa.func.sum(c.completion_tokens), 0),
        sa.func.sum(sa.case((no_usage, 1), else_=0)),
    ]


def _sums(row: Any) -> UsageSums | None:
    """The shared columns of a result row; None for the empty total of no rows at all."""
    key, requests, prompt, completion, unknown_usage = row[:5]
    if not requests:
        return None
    return UsageSums(
        key=key,
        requests=int(requests),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        unknown_usage=int(unknown_usage),
    )


def _sqlite(
    conn: Connection,
    query: UsageQuery,
    by: GroupBy | None,
    days: tuple[date | None, date] | None = None,
) -> list[UsageSums]:
    try:
        if days is not None and missing_days(conn, *days) is None:
            # The kept sums of the whole days, and the rows of the rest of the range (the
            # hours before the first midnight, and today's): the same rows, summed alike.
            result = kept_sums(conn, query, by, days)
            for part in raw_parts(query, days):
                result += _grouped(conn, part, by, scan=False)
        else:
            result = _grouped(conn, query, by, scan=_most_of_the_table(conn, query))
    except sa.exc.OperationalError as error:
        if "overflow" not in str(error.orig):
            raise
        return _python(conn, query, by)  # a sum past 64 bits: sum the rows in Python
    return _shaped_sums(conn, query, by, result)


def _grouped(
    conn: Connection, query: UsageQuery, by: GroupBy | None, *, scan: bool
) -> list[tuple[Any, ...]]:
    """The report's GROUP BY over the rows: key, counts and sums per shape of the cost."""
    text = sa.type_coerce(usage.c.cost, sa.String())
    # Few functions per row: they are the cost of the query. Rows are summed per shape
    # of their cost (its length and where its dot is), so within a shape every cost has
    # the same number of fraction digits and its digits without the dot are an integer:
    # one exact integer SUM per shape, scaled back in Python.
    length, dot = sa.func.length(text), sa.func.instr(text, ".")
    digits = sa.cast(sa.func.replace(text, ".", ""), sa.Integer)
    odd = (text < "0") | (text >= ":")  # not a leading digit: a sign, a bare dot, text
    created = _column(usage.c.created_at, scan)
    key = _key(by, sa.func.substr(sa.type_coerce(created, sa.String()), 1, 10), scan)
    statement = (
        sa.select(
            *_common(key),
            length,
            dot,
            sa.func.count(text),
            sa.func.sum(digits),
            sa.func.sum(sa.case((odd, 1), else_=0)),
        )
        .where(query.condition(indexed=not scan))
        .group_by(key, length, dot)
    )
    return [tuple(row) for row in conn.execute(statement)]


def _shaped_sums(
    conn: Connection, query: UsageQuery, by: GroupBy | None, result: list[tuple[Any, ...]]
) -> list[UsageSums]:
    """Add up :func:`_grouped` rows per key; costs not in the ledger's shape are read."""
    key = _key(by, sa.func.substr(sa.type_coerce(usage.c.created_at, sa.String()), 1, 10))
    groups: dict[Any, UsageSums] = {}
    slow: set[Any] = set()
    for row in result:
        part = _sums(row)
        if part is None:
            continue
        sums = groups.get(part.key)
        if sums is None:
            sums = groups[part.key] = UsageSums(part.key)
        sums.requests += part.requests
        sums.prompt_tokens += part.prompt_tokens
        sums.completion_tokens += part.completion_tokens
        sums.unknown_usage += part.unknown_usage
        size, at, counted, total, others = tuple(row)[5:10]
        if not counted:
            continue  # unknown costs (NULL): counted by the caller, never as 0
        places = size - at if at else 0
        if others or size - (1 if at else 0) > MAX_DIGITS or places > FRACTION_DIGITS:
            slow.add(part.key)  # a cost not in the ledger's shape: read, not summed
            continue
        sums.plain_costs += int(counted)
        sums.cost += Decimal(int(total)).scaleb(-places)
    if slow:
        for group in slow:
            groups[group].cost, groups[group].plain_costs = Decimal(0), 0
        chosen = sa.or_(*(key.is_(None) if k is None else key == k for k in slow))
        costs = sa.select(key, usage.c.cost).where(
            query.condition() & usage.c.cost.is_not(None) & chosen
        )
        for group, cost in conn.execute(costs):
            groups[group].other_costs.append(cost)
    return list(groups.values())


def _column(column: sa.Column[Any], scan: bool) -> sa.ColumnElement[Any]:
    """The column, or ``+column`` when SQLite should scan rather than walk an index."""
    return sa.literal_column(f"+usage.{column.name}", column.type) if scan else column


SCAN_FRACTION = 0.25
"""Past this share of the ledger's time span, SQLite scans the table instead of an index."""


def _most_of_the_table(conn: Connection, query: UsageQuery) -> bool:
    """Whether the local rows asked for likely make up most of the table (SQLite).

    A filter on session, model or a server key's owner is left to the indexes. For
    local use the time span decides: the oldest row is one index lookup away.
    """
    if query.owner is not None or query.session is not None or query.model is not None:
        return False
    if query.since is None:
        return True
    oldest = conn.scalar(sa.select(sa.func.min(usage.c.created_at)))
    if oldest is None:
        return False
    end = query.until or datetime.now(timezone.utc)
    span = (end - oldest).total_seconds()
    return bool(span <= 0 or (end - query.since).total_seconds() >= SCAN_FRACTION * span)


def _postgresql(conn: Connection, query: UsageQuery, by: GroupBy | None) -> list[UsageSums]:
    text = sa.type_coerce(usage.c.cost, sa.String())
    plain = text.op("~", is_comparison=True)(r"^[0-9]+(\.[0-9]+)?$")
    other = sa.and_(text.is_not(None), sa.not_(plain))
    day = sa.func.to_char(sa.func.timezone("UTC", usage.c.created_at), "YYYY-MM-DD")
    key = _key(by, day)
    statement = sa.select(
        *_common(key),
        sa.func.sum(sa.case((plain, 1), else_=0)),
        sa.func.sum(sa.case((plain, sa.cast(text, sa.Numeric())), else_=None)),
        sa.func.sum(sa.case((other, 1), else_=0)),
    ).where(query.condition())
    if by is not None:
        statement = statement.group_by(key)
    groups: dict[Any, UsageSums] = {}
    odd = False
    for row in conn.execute(statement):
        sums = _sums(row)
        if sums is None:
            continue
        counted, total, others = tuple(row)[5:8]
        sums.plain_costs = int(counted)
        if counted:
            sums.cost = Decimal(total)
        odd = odd or bool(others)
        groups[sums.key] = sums
    if odd:
        odd_rows = sa.select(key, usage.c.cost).where(query.condition() & other)
        for group, cost in conn.execute(odd_rows):
            groups[group].other_costs.append(cost)
    return list(groups.values())


def _python(conn: Connection, query: UsageQuery, by: GroupBy | None) -> list[UsageSums]:
    c = usage.c
    statement = (
        sa.select(c.created_at, c.model, c.session, c.prompt_tokens, c.completion_tokens, c.cost)
        .where(query.condition())
        .order_by(c.created_at, c.id)
    )
    groups: dict[str | None, UsageSums] = {}
    for facts in (CostFacts(*row) for row in conn.execute(statement)):
        key = _python_key(facts, by)
        sums = groups.setdefault(key, UsageSums(key))
        _add(sums, facts)
    return list(groups.values())


def _python_key(facts: CostFacts, by: GroupBy | None) -> str | None:
    if by == "model":
        return facts.model
    if by == "session":
        return facts.session
    if by == "day":
        return facts.created_at.date().isoformat()  # read back as UTC
    return None


def _add(sums: UsageSums, facts: CostFacts) -> None:
    sums.requests += 1
    if facts.prompt_tokens is None and facts.completion_tokens is None:
        sums.unknown_usage += 1
    sums.prompt_tokens += facts.prompt_tokens or 0
    sums.completion_tokens += facts.completion_tokens or 0
    if facts.cost is not None:
        sums.other_costs.append(facts.cost)


def merged(groups: Iterable[UsageSums]) -> UsageSums:
    """Every group together, as one total (key None)."""
    total = UsageSums(None)
    for sums in groups:
        total.requests += sums.requests
        total.prompt_tokens += sums.prompt_tokens
        total.completion_tokens += sums.completion_tokens
        total.unknown_usage += sums.unknown_usage
        total.cost += sums.cost
        total.plain_costs += sums.plain_costs
        total.other_costs.extend(sums.other_costs)
    return total
