"""Pydantic models of the routes the web console added to the API: names, models, spend."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from alltoken_agent.server.schemas import BudgetOut, ModelId, NotBlank

NAME_CHARS = 255
"""A session name fits the store's name column."""


class SessionPatch(BaseModel):
    """What to change in a session: its name, its model, or both (neither changes nothing)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[NotBlank, Field(min_length=1, max_length=NAME_CHARS)] | None = None
    """A new name, unique among the key's sessions."""
    model: ModelId | None = None
    """The model for the session's next messages."""


class PriceOut(BaseModel):
    """A model's list price, USD as decimal strings; None where the catalog gives none."""

    input_per_1m: str | None
    """Per million prompt tokens."""
    output_per_1m: str | None
    """Per million completion tokens."""
    per_image: str | None
    per_video_second: str | None


class ModelOut(BaseModel):
    """One model of the gateway's catalog."""

    id: str
    name: str | None
    modality: str | None
    """``text``, ``vision``, ``image``, ``video``, ``audio``, or None when unknown."""
    price: PriceOut | None
    """None when the catalog has no price for it (its cost is then unknown)."""
    context_length: int | None
    capabilities: list[str]


class ModelList(BaseModel):
    """The models a session or a job may name, from the gateway's public catalog."""

    default_model: str
    """The model a session gets when it names none."""
    models: list[ModelOut]
    simulated: bool
    """The simulator gave the list (now, or when it was cached): its prices are made up."""


class ModelCost(BaseModel):
    """What one model cost on one day."""

    model: str | None
    cost: str | None
    """USD over the requests whose cost is known; None when none is known."""
    requests: int
    unknown_cost_requests: int


class DaySpend(BaseModel):
    """One UTC day, by model (most expensive first)."""

    day: str
    """``2026-11-01``."""
    models: list[ModelCost]


class SessionSpend(BaseModel):
    """One session's spend."""

    session_id: str | None
    name: str | None
    """The session's name, when it still exists and has one."""
    cost: str | None
    requests: int
    unknown_cost_requests: int


class Total(BaseModel):
    """Requests and their known cost over a period."""

    cost: str | None
    """USD over the requests whose cost is known; None when there were requests and no
    cost is known (never 0 for unknown)."""
    requests: int
    unknown_cost_requests: int


class Book(BaseModel):
    """One book of the ledger: real spend, or the simulator's made-up costs."""

    simulated: bool
    days: list[DaySpend]
    """Every day of the period, oldest first (days without requests have no models)."""
    period: Total
    month: Total
    """Since the first day of this UTC month."""
    top_sessions: list[SessionSpend]
    """The period's most expensive sessions, at most 10."""


class SpendReport(BaseModel):
    """The caller's spend: daily by model, this month, the most expensive sessions."""

    currency: Literal["USD"]
    since: str
    """First day of the period (UTC)."""
    until: str
    """Last day of the period (UTC, today)."""
    server_book: Literal["real", "simulated"]
    """Where this server's own requests are booked now."""
    real: Book
    simulated: Book
    """Offline runs: costs the simulator made up, never money, never added to ``real``."""
    budget: BudgetOut | None
    """The key's daily budget (the server's ``daily_budget_usd``, real or simulated as
    ``server_book``); None without one."""


class JobCost(BaseModel):
    """What one media job cost."""

    job_id: str
    cost: str | None
    """USD; None when unknown (the gateway gave no figure and no price is known)."""
    simulated: bool


class JobCostList(BaseModel):
    """The cost of the caller's media jobs that the ledger knows of."""

    jobs: list[JobCost]


class TurnCost(BaseModel):
    """What one saved turn of a session cost, in one book of the ledger."""

    message_index: int
    """The index of the turn's user message in the session's ``messages``."""
    cost: str | None
    """USD over the turn's requests whose cost is known; None when none is known."""
    requests: int
    unknown_cost_requests: int
    simulated: bool
    """The offline simulator answered: a made-up cost, never money."""


class SessionCost(BaseModel):
    """What one session cost so far, in each book of the ledger, and per turn."""

    session_id: str
    real: Total
    simulated: Total
    """Requests the offline simulator answered: made-up costs, never money."""
    turns: list[TurnCost] = Field(default_factory=list)
    """Saved turns with requests, in order. A turn's requests are those sent after the
    previous turn was saved and before this one was; a turn that failed before saving
    anything counts toward the next. Requests of a turn not saved yet are in the totals
    only."""


class FileLinkOut(BaseModel):
    """A short-lived URL of one job file, for players that cannot send the key."""

    url: str
    """``/media-links/{token}``: serves the file (with byte ranges) without a key."""
    expires_in: int
    """Seconds the link works for."""
