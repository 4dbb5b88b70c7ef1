"""What one agent run produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from alltoken_agent import money
from alltoken_agent._frozen import FrozenValue
from alltoken_agent.agent._event_base import _Event
from alltoken_agent.gateway.types import Cost, Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from alltoken_agent.gateway import ChatResult, RetryNotice

OutputT = TypeVar("OutputT")

StopReason = Literal["stop", "length", "content_filter", "max_steps"]


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class ToolCallRecord(FrozenValue):
    """One tool call of a run and what came of it."""

    call_id: str
    name: str
    arguments: Any
    """The parsed arguments, or the raw text when they were not valid JSON."""
    result: str
    is_error: bool
    step: int

    def __init__(
        self, call_id: str, name: str, arguments: Any, result: str, is_error: bool, step: int
    ) -> None:
        # Written out and set one by one (update(**) builds a dict first): the frozen
        # dataclass's went through object.__setattr__ per field, and one is built per call.
        fields = self.__dict__
        fields["call_id"] = call_id
        fields["name"] = name
        fields["arguments"] = arguments
        fields["result"] = result
        fields["is_error"] = is_error
        fields["step"] = step


_NEW_USAGE: Any = object()
"""RunResult's default ``usage``: a new ``Usage()`` each (None, passed, means unknown)."""


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class RunResult(FrozenValue, Generic[OutputT]):
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
    simulated: bool = False
    """The replies came from the offline simulator: ``cost`` is made up, never money (its
    ledger rows are in the simulated book)."""

    def __init__(
        self,
        text: str,
        output: OutputT,
        stop_reason: StopReason,
        steps: int,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        tool_calls: list[ToolCallRecord] | None = None,
        usage: Usage | None = _NEW_USAGE,
        cost: Cost | None = None,
        request_ids: list[str] | None = None,
        simulated: bool = False,
    ) -> None:
        fields = self.__dict__
        fields["text"] = text
        fields["output"] = output
        fields["stop_reason"] = stop_reason
        fields["steps"] = steps
        fields["model"] = model
        fields["messages"] = [] if messages is None else messages
        fields["tool_calls"] = [] if tool_calls is None else tool_calls
        fields["usage"] = Usage() if usage is _NEW_USAGE else usage
        fields["cost"] = cost
        fields["request_ids"] = [] if request_ids is None else request_ids
        fields["simulated"] = simulated


@dataclass(init=False, eq=False, repr=False)  # the rest as the agent's events (_event_base)
class DoneEvent(_Event):
    """A run's end as data: the answer and what it took, built from its ``RunResult``.

    The one ``done`` every front end sends: the CLI's last ``--json`` line, the server's
    last SSE event (which adds ``session_id``, ``request_cost`` and ``budget``) and the
    MCP ``chat`` tool's structured content (which adds ``session`` and
    ``session_messages``).
    """

    text: str
    model: str
    stop_reason: StopReason
    steps: int
    usage: Usage | None
    """None when any request's usage is unknown."""
    cost: Cost | None
    """None when any request's cost is unknown."""
    request_id: str | None
    """The last request's id."""
    request_ids: list[str]
    tool_calls: list[dict[str, Any]]
    """``{"name", "arguments", "is_error"}`` per call, in order."""
    simulated: bool = False
    """The offline simulator answered: ``cost`` is made up, never money."""
    name: Literal["done"] = field(default="done", init=False, repr=False)

    def __init__(
        self,
        text: str,
        model: str,
        stop_reason: StopReason,
        steps: int,
        usage: Usage | None,
        cost: Cost | None,
        request_id: str | None,
        request_ids: list[str],
        tool_calls: list[dict[str, Any]],
        simulated: bool = False,
    ) -> None:
        self.__dict__.update(
            text=text,
            model=model,
            stop_reason=stop_reason,
            steps=steps,
            usage=usage,
            cost=cost,
            request_id=request_id,
            request_ids=request_ids,
            tool_calls=tool_calls,
            simulated=simulated,
        )

    @classmethod
    def from_result(cls, result: RunResult[Any]) -> DoneEvent:
        """The ``done`` event of a finished run."""
        return cls(
            text=result.text,
            model=result.model,
            stop_reason=result.stop_reason,
            steps=result.steps,
            usage=result.usage,
            cost=result.cost,
            request_id=result.request_ids[-1] if result.request_ids else None,
            request_ids=list(result.request_ids),
            tool_calls=[
                {"name": c.name, "arguments": c.arguments, "is_error": c.is_error}
                for c in result.tool_calls
            ],
            simulated=result.simulated,
        )


def _sum_usages(usages: Sequence[Usage]) -> Usage:
    """The sum of known usages: one Usage, as add_usage adds its counts (not one per request).

    ``cache_creation_tokens`` is summed when every usage tells it; one that does not
    leaves the sum unknown (None), as the gateway's own silence is.
    """
    if not usages:
        return Usage()
    # A plain loop: for a run's few usages, cheaper than summing each count in C
    # through zip(*map(attrgetter(...))) and its tuples.
    prompt = completion = total = reasoning = cached = 0
    created: int | None = 0
    for usage in usages:
        prompt += usage.prompt_tokens
        completion += usage.completion_tokens
        total += usage.total_tokens
        reasoning += usage.reasoning_tokens
        cached += usage.cached_tokens
        more = usage.cache_creation_tokens
        created = None if created is None or more is None else created + more
    return Usage(prompt, completion, total, reasoning, cached, cache_creation_tokens=created)


def add_usage(total: Usage, more: Usage | None) -> Usage:
    """Sum two usage records (None adds nothing: see ``reply_totals`` to keep unknown)."""
    return total if more is None else _sum_usages([total, more])


def reply_totals(replies: Sequence[ChatResult]) -> tuple[Usage | None, Cost | None, list[str]]:
    """A run's usage, cost and request ids, from its replies (summed once, at its end).

    One reply of unknown usage or cost makes that total unknown, never a made-up 0; a
    run of no replies used nothing and has no cost to tell.
    """
    # One pass over the replies (each usage, cost and id read once), not one per total.
    usages: list[Usage] = []
    costs = money.CostTally()
    request_ids: list[str] = []
    for reply in replies:
        usage = reply.usage
        if usage is not None:
            usages.append(usage)
        cost = reply.cost
        costs.add(None if cost is None else cost.amount)
        request_id = reply.request_id
        if request_id:
            request_ids.append(request_id)
    amount = costs.total
    return (
        _sum_usages(usages) if len(usages) == len(replies) else None,
        None if amount is None or not costs.count else Cost(amount),
        request_ids,
    )


@dataclass(init=False, eq=False, repr=False)
class RetryEvent(_Event):
    """A gateway request failed and is tried again after ``delay`` seconds.

    Told by the gateway's ``on_retry`` (a ``RetryNotice``), not by the agent: the CLI's
    ``--json`` and the server's stream emit it as it happens (see ``from_notice``).
    """

    attempt: int
    """The retry about to be made, from 1."""
    delay: float
    code: str
    status: int | None
    name: Literal["retry"] = field(default="retry", init=False, repr=False)

    def __init__(self, attempt: int, delay: float, code: str, status: int | None) -> None:
        self.__dict__.update(attempt=attempt, delay=delay, code=code, status=status)

    @classmethod
    def from_notice(cls, notice: RetryNotice) -> RetryEvent:
        """The event of one retry (its delay rounded to the millisecond)."""
        error = notice.error
        return cls(
            attempt=notice.attempt,
            delay=round(notice.delay, 3),
            code=error.code,
            status=error.status,
        )
