"""Spend: the caller's daily spend by model, this month's total and the costliest sessions.

Both books of the ledger are reported side by side and never added together: real
spend, and the simulator's made-up costs of offline runs (docs/architecture.md,
"Persistence"). Costs are decimal strings; a group whose every request has an unknown
cost says None, never 0.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from alltoken_agent.ledger import Ledger, ReportRow, start_of_utc_day
from alltoken_agent.ledger.costs import usable_amount
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.console_schemas import (
    Book,
    DaySpend,
    JobCost,
    JobCostList,
    ModelCost,
    SessionCost,
    SessionSpend,
    SpendReport,
    Total,
    TurnCost,
)
from alltoken_agent.server.context import ContextDep, ServerContext
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.sessions import SessionId
from alltoken_agent.server.schemas import BudgetOut
from alltoken_agent.server.turns import budget_dict
from alltoken_agent.store import Store
from alltoken_agent.store.schema import messages

router = APIRouter(tags=["usage"])

CallerDep = Annotated[Caller, Depends(current_caller)]
TOP_SESSIONS = 10
JOB_ROWS = 5000
"""Media requests read to price the job list: far more than its 100 jobs ever make."""


class SpendQuery(BaseModel):
    """Query parameters of the spend report (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=366, description="Days back, today included.")


class JobCostQuery(BaseModel):
    """Query parameters of the job costs (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=366, description="Jobs of this many days back.")


@router.get("/v1/spend", response_model=SpendReport, responses=responses(), summary="Spend")
async def spend(
    caller: CallerDep, context: ContextDep, query: Annotated[SpendQuery, Query()]
) -> SpendReport:
    """The caller's spend per UTC day and model, this month's total and top sessions.

    The real and the simulated book come apart: `simulated` holds the costs of requests
    the offline simulator answered, which are not money.
    """
    today = start_of_utc_day()
    start = today - timedelta(days=query.days - 1)
    real, simulated = await context.calls.read(_books, context, caller.owner, start, today)
    budget = await context.budget_status(caller)
    return SpendReport(
        currency="USD",
        since=start.date().isoformat(),
        until=today.date().isoformat(),
        server_book="simulated" if context.gateway.simulated else "real",
        real=real,
        simulated=simulated,
        budget=None if budget is None else BudgetOut.model_validate(budget_dict(budget)),
    )


@router.get(
    "/v1/media/costs",
    response_model=JobCostList,
    responses=responses(),
    summary="What media jobs cost",
)
async def job_costs(
    caller: CallerDep, context: ContextDep, query: Annotated[JobCostQuery, Query()]
) -> JobCostList:
    """The cost of each of the caller's recent media jobs the ledger recorded.

    A job with several requests sums them; `cost` is null when any is unknown.
    """
    since = start_of_utc_day() - timedelta(days=query.days - 1)
    jobs = await context.calls.read(_job_costs, context.store, caller.owner, since)
    return JobCostList(jobs=jobs)


@router.get(
    "/v1/sessions/{session_id}/cost",
    response_model=SessionCost,
    responses=responses(404),
    summary="What a session cost",
)
async def session_cost(
    session_id: SessionId, caller: CallerDep, context: ContextDep
) -> SessionCost:
    """Every request one of the caller's sessions made so far, in each book, and per turn.

    `turns` gives each saved turn's cost, keyed by the index of its user message in the
    session's `messages`: the requests sent after the previous turn was saved and before
    this one was (a turn that failed before saving anything counts toward the next).
    """
    record = await context.session(session_id, caller)
    real, simulated = await context.calls.read(_session_totals, context.store, record.id, caller)
    turns = await context.calls.read(_turn_costs, context.store, record.id, caller.owner)
    return SessionCost(session_id=record.id, real=real, simulated=simulated, turns=turns)


def _session_totals(store: Store, session_id: str, caller: Caller) -> tuple[Total, Total]:
    real, simulated = (
        Total(
            **_sums(
                Ledger(store, simulated=book).report(session=session_id, owner=caller.owner).totals
            )
        )
        for book in (False, True)
    )
    return real, simulated


def _turn_costs(store: Store, session_id: str, owner: str | None) -> list[TurnCost]:
    """Each saved turn's requests, by time: a turn's messages are saved together at its end.

    The ledger stamps a request when it is sent, the store a turn's messages when they are
    saved, both by this machine's clock (replicas on one database should keep theirs in
    sync, as they must for leases anyway).
    """
    ends = _turn_ends(store, session_id)
    if not ends:
        return []
    sums: dict[tuple[int, bool], tuple[Decimal, int, int]] = {}
    for book in (False, True):
        for row in Ledger(store, simulated=book).rows(session=session_id, owner=owner):
            turn = bisect_left(ends, (row.created_at, -1))
            if turn == len(ends):
                continue  # sent after the last saved turn: a turn still running or lost
            key = (ends[turn][1], book)
            total, requests, unknown = sums.get(key, (Decimal(0), 0, 0))
            known = usable_amount(row.cost)
            total += row.cost if known and row.cost is not None else 0
            sums[key] = (total, requests + 1, unknown + (0 if known else 1))
    return [
        TurnCost(
            message_index=index,
            cost=None if unknown == requests else format(total, "f"),
            requests=requests,
            unknown_cost_requests=unknown,
            simulated=book,
        )
        for (index, book), (total, requests, unknown) in sorted(sums.items())
    ]


def _turn_ends(store: Store, session_id: str) -> list[tuple[datetime, int]]:
    """When each user message was saved, with its index in the session's messages."""
    query = (
        sa.select(messages.c.created_at, messages.c.message)
        .where(messages.c.session_id == session_id)
        .order_by(messages.c.position)
    )
    # The store has no public call for message times; reading its table is the one place.
    with store._db.read() as conn:
        rows = conn.execute(query).all()
    ends: list[tuple[datetime, int]] = []
    for index, (saved, message) in enumerate(rows):
        if isinstance(message, Mapping) and message.get("role") == "user":
            moment = saved if saved.tzinfo is not None else saved.replace(tzinfo=timezone.utc)
            ends.append((moment, index))
    return ends


def _books(
    context: ServerContext, owner: str | None, start: datetime, today: datetime
) -> tuple[Book, Book]:
    real, simulated = (
        _book(Ledger(context.store, simulated=simulated), context.store, owner, start, today)
        for simulated in (False, True)
    )
    return real, simulated


def _book(
    ledger: Ledger, store: Store, owner: str | None, start: datetime, today: datetime
) -> Book:
    until = today + timedelta(days=1)
    by_day = ledger.report(start, "day", until=until, owner=owner)
    busy = {row.key for row in by_day.rows if row.requests}
    days = []
    moment = start
    while moment <= today:
        key = moment.date().isoformat()
        models: list[ModelCost] = []
        if key in busy:
            report = ledger.report(moment, "model", until=moment + timedelta(days=1), owner=owner)
            models = [ModelCost(model=row.key, **_sums(row)) for row in report.rows if row.requests]
        days.append(DaySpend(day=key, models=models))
        moment += timedelta(days=1)
    month_start = today.replace(day=1)
    month = ledger.report(month_start, "model", until=until, owner=owner).totals
    sessions = ledger.report(start, "session", until=until, owner=owner).rows
    top = [
        SessionSpend(session_id=row.key, name=_name(store, row.key, owner), **_sums(row))
        for row in sessions[:TOP_SESSIONS]
        if row.requests and row.key is not None
    ]
    return Book(
        simulated=ledger.simulated,
        days=days,
        period=Total(**_sums(by_day.totals)),
        month=Total(**_sums(month)),
        top_sessions=top,
    )


def _sums(row: ReportRow) -> dict[str, Any]:
    return {
        "cost": format(row.cost, "f") if row.cost_known else None,
        "requests": row.requests,
        "unknown_cost_requests": row.unknown_cost_requests,
    }


def _name(store: Store, session: str, owner: str | None) -> str | None:
    # The server tags requests with the session id; the CLI with the session's name.
    record = store.sessions.get_session(session, owner=owner)
    if record is None:
        record = store.sessions.find_session(session, owner=owner)
    return None if record is None else record.name


def _job_costs(store: Store, owner: str | None, since: datetime) -> list[JobCost]:
    totals: dict[str, tuple[Decimal, bool, bool]] = {}
    for simulated in (False, True):
        ledger = Ledger(store, simulated=simulated)
        for row in ledger.rows(since=since, owner=owner, newest_first=True, limit=JOB_ROWS):
            job_id = row.extra.get("job_id") if isinstance(row.extra, Mapping) else None
            if row.kind not in ("image", "video") or not isinstance(job_id, str):
                continue
            total, known, _ = totals.get(job_id, (Decimal(0), True, simulated))
            totals[job_id] = (total + (row.cost or 0), known and row.cost is not None, simulated)
    return [
        JobCost(job_id=job_id, cost=format(total, "f") if known else None, simulated=simulated)
        for job_id, (total, known, simulated) in totals.items()
    ]
