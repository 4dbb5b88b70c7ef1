"""Agent events: one model, three views (``agent.on`` hooks, ``agent.stream``, NDJSON).

Each event is a frozen dataclass whose ``name`` holds the wire name (``stream:delta``) and
discriminates the ``AgentEvent`` union. Hook handlers receive the payload fields positionally, in
declaration order (``args``), which keeps the AllToken agent skill's handler signatures:
``tool:call`` gets ``(name, args, call_id)``, ``stream:delta`` gets ``(delta, accumulated)``.
Fields past the skill's come last, and a handler taking fewer positional parameters gets only the
leading ones (see ``hooks.positional_capacity``). ``message:user`` and ``message:assistant``
handlers get the AllToken agent skill's message dict, ``{"role", "content"}``, while the event
objects (``agent.stream()``, NDJSON) carry ``content``.

Every run (``send()``, ``run()``, ``stream()`` and their blocking twins) is one busy span for UIs:
``thinking:start`` right after ``message:user``, before the first request, whether or not thinking
is on, and ``thinking:end`` exactly once at the very end, after ``message:assistant`` or the
failure (its ``outcome`` says which), and also when the run is cancelled or its stream is closed
early; hooks get it then too, though a cancelled ``stream()`` reader does not. The model's
reasoning has events of its own: ``reasoning:start``, ``reasoning:delta``... and ``reasoning:end``
(with the block's whole text) around each reasoning block of a reply, thinking on or off; a block
also ends when its request fails.

A tool round trip, no reasoning: ``message:user``, ``thinking:start``, ``stream:start``,
``stream:end``, ``usage``, ``cost``, ``tool:call``... (one per call), ``tool:result``... (in call
order), then ``stream:start``, ``stream:delta``..., ``stream:end``, ``usage``, ``cost``,
``message:assistant`` and ``thinking:end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from alltoken_agent.agent._event_base import _Event, _joined
from alltoken_agent.gateway.types import Cost, Usage


@dataclass(init=False, eq=False, repr=False)
class MessageUserEvent(_Event):
    """The user's message was added to the conversation."""

    content: Any
    """A string or a list of content parts."""
    name: Literal["message:user"] = field(default="message:user", init=False, repr=False)

    def __init__(self, content: Any) -> None:
        self.__dict__.update(content=content)

    @property
    def args(self) -> tuple[Any, ...]:
        """The skill's payload: the message, ``{"role": "user", "content": ...}``."""
        return ({"role": "user", "content": self.content},)


@dataclass(init=False, eq=False, repr=False)
class MessageAssistantEvent(_Event):
    """The assistant's final message of a turn."""

    content: str
    name: Literal["message:assistant"] = field(default="message:assistant", init=False, repr=False)

    def __init__(self, content: str) -> None:
        self.__dict__.update(content=content)

    @property
    def args(self) -> tuple[Any, ...]:
        """The skill's payload: the message, ``{"role": "assistant", "content": ...}``."""
        return ({"role": "assistant", "content": self.content},)


@dataclass(init=False, eq=False, repr=False)
class StreamStartEvent(_Event):
    """A model request started (one per step of the tool loop)."""

    model: str
    step: int
    name: Literal["stream:start"] = field(default="stream:start", init=False, repr=False)

    def __init__(self, model: str, step: int) -> None:
        self.__dict__.update(model=model, step=step)


@dataclass(init=False, eq=False, repr=False)
class StreamDeltaEvent(_Event):
    """A fragment of answer text, with everything so far in this step."""

    _json_skip: ClassVar[frozenset[str]] = frozenset({"accumulated"})

    delta: str
    accumulated: str
    name: Literal["stream:delta"] = field(default="stream:delta", init=False, repr=False)

    def __init__(self, delta: str, accumulated: str) -> None:
        self.__dict__.update(delta=delta, accumulated=accumulated)

    if not TYPE_CHECKING:  # hidden from type checkers: every other name stays checked
        __getattr__ = _joined  # `accumulated` of an event built by stream_delta()


@dataclass(init=False, eq=False, repr=False)
class StreamEndEvent(_Event):
    """A model request finished."""

    text: str
    finish_reason: str | None
    name: Literal["stream:end"] = field(default="stream:end", init=False, repr=False)

    def __init__(self, text: str, finish_reason: str | None) -> None:
        self.__dict__.update(text=text, finish_reason=finish_reason)


@dataclass(init=False, eq=False, repr=False)
class ThinkingStartEvent(_Event):
    """A run started: the agent is busy until ``thinking:end`` (see the module docstring)."""

    name: Literal["thinking:start"] = field(default="thinking:start", init=False, repr=False)


@dataclass(init=False, eq=False, repr=False)
class ThinkingEndEvent(_Event):
    """A run is over, however it ended: fires once per ``thinking:start``."""

    outcome: Literal["done", "error", "cancelled"]
    """``done`` (an answer), ``error`` (the run raised), ``cancelled`` (the task was
    cancelled, or the stream was closed before the answer)."""
    name: Literal["thinking:end"] = field(default="thinking:end", init=False, repr=False)

    def __init__(self, outcome: Literal["done", "error", "cancelled"]) -> None:
        self.__dict__.update(outcome=outcome)


@dataclass(init=False, eq=False, repr=False)
class ReasoningStartEvent(_Event):
    """A block of reasoning begins in a model's reply (its deltas follow)."""

    name: Literal["reasoning:start"] = field(default="reasoning:start", init=False, repr=False)


@dataclass(init=False, eq=False, repr=False)
class ReasoningDeltaEvent(_Event):
    """A fragment of reasoning (kept out of the answer text)."""

    _json_skip: ClassVar[frozenset[str]] = frozenset({"accumulated"})

    delta: str
    accumulated: str
    """All of the request's reasoning so far."""
    name: Literal["reasoning:delta"] = field(default="reasoning:delta", init=False, repr=False)

    def __init__(self, delta: str, accumulated: str) -> None:
        self.__dict__.update(delta=delta, accumulated=accumulated)

    if not TYPE_CHECKING:
        __getattr__ = _joined


@dataclass(init=False, eq=False, repr=False)
class ReasoningEndEvent(_Event):
    """A block of reasoning is over: the answer or a tool call began, or the reply ended."""

    reasoning: str
    """The block's whole text."""
    name: Literal["reasoning:end"] = field(default="reasoning:end", init=False, repr=False)

    def __init__(self, reasoning: str) -> None:
        self.__dict__.update(reasoning=reasoning)


@dataclass(init=False, eq=False, repr=False)
class ToolCallEvent(_Event):
    """The model asked for a tool; ``args`` is the parsed arguments (or the raw text)."""

    tool_name: str
    arguments: Any
    call_id: str
    name: Literal["tool:call"] = field(default="tool:call", init=False, repr=False)

    def __init__(self, tool_name: str, arguments: Any, call_id: str) -> None:
        self.__dict__.update(tool_name=tool_name, arguments=arguments, call_id=call_id)


@dataclass(init=False, eq=False, repr=False)
class ToolResultEvent(_Event):
    """A tool finished; ``is_error`` results go back to the model as errors to recover from."""

    tool_name: str
    result: str
    call_id: str
    is_error: bool = False
    name: Literal["tool:result"] = field(default="tool:result", init=False, repr=False)

    def __init__(self, tool_name: str, result: str, call_id: str, is_error: bool = False) -> None:
        self.__dict__.update(tool_name=tool_name, result=result, call_id=call_id, is_error=is_error)


@dataclass(init=False, eq=False, repr=False)
class ToolApprovalEvent(_Event):
    """A call that needed approval was decided: ``allow``, ``deny`` or ``edit``."""

    tool_name: str
    arguments: Any
    """The arguments the tool runs with (the edited ones after ``edit``)."""
    call_id: str
    decision: str
    reason: str | None = None
    name: Literal["tool:approval"] = field(default="tool:approval", init=False, repr=False)

    def __init__(
        self, tool_name: str, arguments: Any, call_id: str, decision: str, reason: str | None = None
    ) -> None:
        self.__dict__.update(
            tool_name=tool_name,
            arguments=arguments,
            call_id=call_id,
            decision=decision,
            reason=reason,
        )


@dataclass(init=False, eq=False, repr=False)
class ContextTrimmedEvent(_Event):
    """The oldest turns were left out of a request so it fits the model's context."""

    model: str
    dropped: int
    """Messages left out."""
    tokens_before: int
    tokens_after: int
    limit: int
    name: Literal["context:trimmed"] = field(default="context:trimmed", init=False, repr=False)

    def __init__(
        self, model: str, dropped: int, tokens_before: int, tokens_after: int, limit: int
    ) -> None:
        self.__dict__.update(
            model=model,
            dropped=dropped,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            limit=limit,
        )


@dataclass(init=False, eq=False, repr=False)
class UsageEvent(_Event):
    """Token usage of one model request."""

    usage: Usage
    model: str
    name: Literal["usage"] = field(default="usage", init=False, repr=False)

    def __init__(self, usage: Usage, model: str) -> None:
        self.__dict__.update(usage=usage, model=model)


@dataclass(init=False, eq=False, repr=False)
class CostEvent(_Event):
    """What one model request cost, as the gateway reported it."""

    cost: Cost
    model: str
    name: Literal["cost"] = field(default="cost", init=False, repr=False)

    def __init__(self, cost: Cost, model: str) -> None:
        self.__dict__.update(cost=cost, model=model)


@dataclass(init=False, eq=False, repr=False)
class ModelFallbackEvent(_Event):
    """A model failed after its retries and the next one in the chain takes over."""

    from_model: str
    to_model: str
    error: str
    name: Literal["model:fallback"] = field(default="model:fallback", init=False, repr=False)

    def __init__(self, from_model: str, to_model: str, error: str) -> None:
        self.__dict__.update(from_model=from_model, to_model=to_model, error=error)


@dataclass(init=False, eq=False, repr=False)
class ModelChosenEvent(_Event):
    """An ``auto:`` model spec was resolved from the catalog; ``reason`` says why."""

    model: str
    policy: str
    reason: str
    name: Literal["model:chosen"] = field(default="model:chosen", init=False, repr=False)

    def __init__(self, model: str, policy: str, reason: str) -> None:
        self.__dict__.update(model=model, policy=policy, reason=reason)


@dataclass(init=False, eq=False, repr=False)
class NoticeEvent(_Event):
    """Something the user should know that is not an error.

    A feature swapped for another, or a reply whose usage or cost is unknown because
    the gateway left it out or sent an invalid one (see ``code``).
    """

    message: str
    code: str | None = None
    """What it is about, for programs: ``usage_missing``, ``usage_invalid``,
    ``cost_invalid`` (a reply's usage or cost is unknown); None for other notices."""
    name: Literal["notice"] = field(default="notice", init=False, repr=False)

    def __init__(self, message: str, code: str | None = None) -> None:
        self.__dict__.update(message=message, code=code)


@dataclass(init=False, eq=False, repr=False)
class BudgetWarningEvent(_Event):
    """A budget is at its warning threshold (80 % by default) before a request."""

    label: str
    limit: Decimal
    spent: Decimal
    fraction_used: float
    name: Literal["budget:warning"] = field(default="budget:warning", init=False, repr=False)

    def __init__(self, label: str, limit: Decimal, spent: Decimal, fraction_used: float) -> None:
        self.__dict__.update(label=label, limit=limit, spent=spent, fraction_used=fraction_used)


@dataclass(init=False, eq=False, repr=False)
class ErrorEvent(_Event):
    """Something failed: the run (fatal), or a hook or approval handler (not fatal).

    A raising approval handler counts as a denial: the model reads an error result
    and the loop goes on.
    """

    error: BaseException
    source: Literal["run", "hook", "approval"] = "run"
    name: Literal["error"] = field(default="error", init=False, repr=False)

    def __init__(
        self, error: BaseException, source: Literal["run", "hook", "approval"] = "run"
    ) -> None:
        self.__dict__.update(error=error, source=source)


AgentEvent = (
    MessageUserEvent
    | MessageAssistantEvent
    | StreamStartEvent
    | StreamDeltaEvent
    | StreamEndEvent
    | ThinkingStartEvent
    | ThinkingEndEvent
    | ReasoningStartEvent
    | ReasoningDeltaEvent
    | ReasoningEndEvent
    | ToolCallEvent
    | ToolResultEvent
    | ToolApprovalEvent
    | ContextTrimmedEvent
    | UsageEvent
    | CostEvent
    | ModelFallbackEvent
    | ModelChosenEvent
    | NoticeEvent
    | BudgetWarningEvent
    | ErrorEvent
)

EventName = Literal[
    "message:user",
    "message:assistant",
    "stream:start",
    "stream:delta",
    "stream:end",
    "thinking:start",
    "thinking:end",
    "reasoning:start",
    "reasoning:delta",
    "reasoning:end",
    "tool:call",
    "tool:result",
    "tool:approval",
    "context:trimmed",
    "usage",
    "cost",
    "model:fallback",
    "model:chosen",
    "notice",
    "budget:warning",
    "error",
]
EVENT_NAMES: frozenset[str] = frozenset(EventName.__args__)  # type: ignore[attr-defined]
STREAM_EVENT_NAMES: frozenset[str] = frozenset(
    name for name in EVENT_NAMES if name.partition(":")[0] in ("stream", "reasoning")
)
"""The events of a reply as it arrives; ``send_sync()`` emits none of them."""
