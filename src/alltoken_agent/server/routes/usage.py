"""Usage: what the caller's key has used and spent, from the ledger."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from alltoken_agent.ledger import parse_since
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.context import ContextDep
from alltoken_agent.server.routes import responses
from alltoken_agent.server.schemas import UsageReportOut
from alltoken_agent.server.turns import budget_dict

router = APIRouter(tags=["usage"])

CallerDep = Annotated[Caller, Depends(current_caller)]
Span = Annotated[str, Field(pattern=r"^[0-9]{1,5}[wdhm]$")]


def _not_a_number(value: object) -> object:
    # pydantic reads "1700000000" as a Unix time; the schema promises ISO 8601 only.
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9.eE+-]+\s*", value):
        raise ValueError("use an ISO 8601 date-time such as 2026-11-01T00:00:00Z, not a number")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_not_a_number)]


class UsageQuery(BaseModel):
    """Query parameters of the usage report (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid")

    since: Span | IsoDatetime | None = Field(
        default=None,
        description="From when: a span back (`7d`, `24h`, `30m`, `2w`) or an ISO 8601 "
        "date-time (UTC when it has no zone). Omitted: everything.",
    )
    by: Literal["model", "day", "session"] = Field(
        default="model", description="How to group the rows."
    )


@router.get("/v1/usage", response_model=UsageReportOut, responses=responses(), summary="Usage")
async def usage(
    caller: CallerDep, context: ContextDep, query: Annotated[UsageQuery, Query()]
) -> UsageReportOut:
    """The caller's requests, tokens and cost, grouped by model, UTC day or session."""
    start = _start(query.since)
    report = await context.calls.read(context.ledger.report, start, query.by, owner=caller.owner)
    budget = await context.budget_status(caller)
    return UsageReportOut.model_validate({**report.to_dict(), "budget": budget_dict(budget)})


def _start(since: str | datetime | None) -> datetime | None:
    if since is None:
        return None
    if isinstance(since, str):
        return parse_since(since)
    moment = since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # within hours of year 1 or 9999: the ends of time
        return datetime.min.replace(tzinfo=timezone.utc) if moment.year < 5000 else None
