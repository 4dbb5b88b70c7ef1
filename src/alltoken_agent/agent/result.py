"""What one agent run produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from alltoken_agent.gateway.types import Cost, Usage

OutputT = TypeVar("OutputT")

StopReason = Literal["stop", "length", "content_filter", "max_steps"]


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call of a run and what came of it."""

    call_id: str
    name: str
    arguments: Any
    """The parsed arguments, or the raw text when they were not valid JSON."""
    result: str
    is_error: bool
    step: int


@dataclass(frozen=True)
class RunResult(Generic[OutputT]):
    """The outcome of ``agent.run()``: the answer and everything it took."""

    text: str
    """The final assistant text ("" when the run stopped at ``max_steps``)."""
    output: OutputT
    """The validated ``output_type`` instance, or ``text`` without one."""
    stop_reason: StopReason
    steps: int
    """Model requests made."""
    model: str
    """The model that gave the last reply (differs from the first after a fallback)."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The messages this run added to the conversation, user message first."""
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage | None = field(default_factory=Usage)
    """Summed over every request of the run; None when any request's usage is unknown
    (the gateway sent none, or an invalid one: a ``notice`` event said so), since a
    sum of the known ones would pass for the whole."""
    cost: Cost | None = None
    """Summed gateway-reported cost; None when any request's cost is unknown."""
    request_ids: list[str] = field(default_factory=list)


class UsageTally:
    """Sums usage; one request of unknown usage makes the total unknown (never a made-up 0)."""

    def __init__(self) -> None:
        self._sum = Usage()
        self._known = True

    def add(self, usage: Usage | None) -> None:
        """Count one request's usage (None: unknown)."""
        if usage is None:
            self._known = False
        else:
            self._sum = add_usage(self._sum, usage)

    @property
    def total(self) -> Usage | None:
        """The sum, or None when a request's usage is unknown."""
        return self._sum if self._known else None


def add_usage(total: Usage, more: Usage | None) -> Usage:
    """Sum two usage records (None adds nothing: see ``UsageTally`` to keep unknown)."""
    if more is None:
        return total
    return Usage(
        prompt_tokens=total.prompt_tokens + more.prompt_tokens,
        completion_tokens=total.completion_tokens + more.completion_tokens,
        total_tokens=total.total_tokens + more.total_tokens,
        reasoning_tokens=total.reasoning_tokens + more.reasoning_tokens,
        cached_tokens=total.cached_tokens + more.cached_tokens,
    )


class CostTally:
    """Sums costs; one unknown cost makes the total unknown (never a made-up zero)."""

    def __init__(self) -> None:
        self._amount = Decimal(0)
        self._known = True
        self._requests = 0

    def add(self, cost: Cost | None) -> None:
        """Count one request's cost."""
        self._requests += 1
        if cost is None:
            self._known = False
        else:
            self._amount += cost.amount

    @property
    def total(self) -> Cost | None:
        """The sum, or None when unknown or nothing was requested."""
        if not self._known or self._requests == 0:
            return None
        return Cost(amount=self._amount)
