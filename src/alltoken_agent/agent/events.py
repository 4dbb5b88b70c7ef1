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

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from alltoken_agent.errors import AllTokenAgentError
from alltoken_agent.gateway.types import Cost, Usage


def _joined(event: object, attribute: str) -> str:
    """The ``accumulated`` of a delta event built by ``stream_delta``, joined once."""
    fields_ = event.__dict__
    pieces = fields_.get("_pieces") if attribute == "accumulated" else None
    if pieces is None:
        raise AttributeError(f"{type(event).__name__!r} object has no attribute {attribute!r}")
    value = fields_["accumulated"] = "".join(pieces[: fields_["_upto"]])
    return value


_ARGS: dict[type, Callable[[Any], Any]] = {}  # per class: its payload fields, read in one call


@dataclass(frozen=True, eq=False, repr=False)
class _Event:
    # Fields left out of the NDJSON view because they repeat what came before.
    _json_skip: ClassVar[frozenset[str]] = frozenset()

    @property
    def args(self) -> tuple[Any, ...]:
        """The payload, positionally, as hook handlers receive it."""
        read = _ARGS.get(type(self))
        if read is None:  # once per class: fields() is slow for a per-chunk event
            names = [f.name for f in fields(self) if f.name != "name"]
            getter = attrgetter(*names) if names else lambda _: ()
            read = _ARGS[type(self)] = getter if len(names) != 1 else lambda e: (getter(e),)
        payload: tuple[Any, ...] = read(self)
        return payload

    def to_dict(self) -> dict[str, Any]:
        """The NDJSON view: ``{"event": name, **payload}`` with JSON-ready values."""
        out: dict[str, Any] = {"event": getattr(self, "name")}  # noqa: B009 - set by subclasses
        for f in fields(self):
            if f.name != "name" and f.name not in self._json_skip:
                out[f.name] = _jsonable(getattr(self, f.name))
        return out

    # Written once here, not generated for each event class: dataclass compiles every
    # method it makes at import (22 classes, three methods each: about 6 ms of a chat's
    # start-up). They do what the generated ones did.
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _compared(self) == _compared(other)

    def __hash__(self) -> int:
        return hash(_compared(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"


def _compared(event: _Event) -> tuple[Any, ...]:
    return tuple(getattr(event, f.name) for f in fields(event) if f.compare)


@dataclass(frozen=True, eq=False, repr=False)
class MessageUserEvent(_Event):
    """The user's message was added to the conversation."""

    content: Any
    """A string or a list of content parts."""
    name: Literal["message:user"] = field(default="message:user", repr=False)

    @property
    def args(self) -> tuple[Any, ...]:
        """The skill's payload: the message, ``{"role": "user", "content": ...}``."""
        return ({"role": "user", "content": self.content},)


@dataclass(frozen=True, eq=False, repr=False)
class MessageAssistantEvent(_Event):
    """The assistant's final message of a turn."""

    content: str
    name: Literal["message:assistant"] = field(default="message:assistant", repr=False)

    @property
    def args(self) -> tuple[Any, ...]:
        """The skill's payload: the message, ``{"role": "assistant", "content": ...}``."""
        return ({"role": "assistant", "content": self.content},)


@dataclass(frozen=True, eq=False, repr=False)
class StreamStartEvent(_Event):
    """A model request started (one per step of the tool loop)."""

    model: str
    step: int
    name: Literal["stream:start"] = field(default="stream:start", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class StreamDeltaEvent(_Event):
    """A fragment of answer text, with everything so far in this step."""

    _json_skip: ClassVar[frozenset[str]] = frozenset({"accumulated"})

    delta: str
    accumulated: str
    name: Literal["stream:delta"] = field(default="stream:delta", repr=False)

    if not TYPE_CHECKING:  # hidden from type checkers: every other name stays checked
        __getattr__ = _joined  # `accumulated` of an event built by stream_delta()


@dataclass(frozen=True, eq=False, repr=False)
class StreamEndEvent(_Event):
    """A model request finished."""

    text: str
    finish_reason: str | None
    name: Literal["stream:end"] = field(default="stream:end", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ThinkingStartEvent(_Event):
    """A run started: the agent is busy until ``thinking:end`` (see the module docstring)."""

    name: Literal["thinking:start"] = field(default="thinking:start", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ThinkingEndEvent(_Event):
    """A run is over, however it ended: fires once per ``thinking:start``."""

    outcome: Literal["done", "error", "cancelled"]
    """``done`` (an answer), ``error`` (the run raised), ``cancelled`` (the task was
    cancelled, or the stream was closed before the answer)."""
    name: Literal["thinking:end"] = field(default="thinking:end", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ReasoningStartEvent(_Event):
    """A block of reasoning begins in a model's reply (its deltas follow)."""

    name: Literal["reasoning:start"] = field(default="reasoning:start", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ReasoningDeltaEvent(_Event):
    """A fragment of reasoning (kept out of the answer text)."""

    _json_skip: ClassVar[frozenset[str]] = frozenset({"accumulated"})

    delta: str
    accumulated: str
    """All of the request's reasoning so far."""
    name: Literal["reasoning:delta"] = field(default="reasoning:delta", repr=False)

    if not TYPE_CHECKING:
        __getattr__ = _joined


@dataclass(frozen=True, eq=False, repr=False)
class ReasoningEndEvent(_Event):
    """A block of reasoning is over: the answer or a tool call began, or the reply ended."""

    reasoning: str
    """The block's whole text."""
    name: Literal["reasoning:end"] = field(default="reasoning:end", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ToolCallEvent(_Event):
    """The model asked for a tool; ``args`` is the parsed arguments (or the raw text)."""

    tool_name: str
    arguments: Any
    call_id: str
    name: Literal["tool:call"] = field(default="tool:call", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ToolResultEvent(_Event):
    """A tool finished; ``is_error`` results go back to the model as errors to recover from."""

    tool_name: str
    result: str
    call_id: str
    is_error: bool = False
    name: Literal["tool:result"] = field(default="tool:result", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ToolApprovalEvent(_Event):
    """A call that needed approval was decided: ``allow``, ``deny`` or ``edit``."""

    tool_name: str
    arguments: Any
    """The arguments the tool runs with (the edited ones after ``edit``)."""
    call_id: str
    decision: str
    reason: str | None = None
    name: Literal["tool:approval"] = field(default="tool:approval", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ContextTrimmedEvent(_Event):
    """The oldest turns were left out of a request so it fits the model's context."""

    model: str
    dropped: int
    """Messages left out."""
    tokens_before: int
    tokens_after: int
    limit: int
    name: Literal["context:trimmed"] = field(default="context:trimmed", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class UsageEvent(_Event):
    """Token usage of one model request."""

    usage: Usage
    model: str
    name: Literal["usage"] = field(default="usage", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class CostEvent(_Event):
    """What one model request cost, as the gateway reported it."""

    cost: Cost
    model: str
    name: Literal["cost"] = field(default="cost", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ModelFallbackEvent(_Event):
    """A model failed after its retries and the next one in the chain takes over."""

    from_model: str
    to_model: str
    error: str
    name: Literal["model:fallback"] = field(default="model:fallback", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ModelChosenEvent(_Event):
    """An ``auto:`` model spec was resolved from the catalog; ``reason`` says why."""

    model: str
    policy: str
    reason: str
    name: Literal["model:chosen"] = field(default="model:chosen", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class NoticeEvent(_Event):
    """Something the user should know that is not an error.

    A feature swapped for another, or a reply whose usage or cost is unknown because
    the gateway left it out or sent an invalid one (see ``code``).
    """

    message: str
    code: str | None = None
    """What it is about, for programs: ``usage_missing``, ``usage_invalid``,
    ``cost_invalid`` (a reply's usage or cost is unknown); None for other notices."""
    name: Literal["notice"] = field(default="notice", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class BudgetWarningEvent(_Event):
    """A budget is at its warning threshold (80 % by default) before a request."""

    label: str
    limit: Decimal
    spent: Decimal
    fraction_used: float
    name: Literal["budget:warning"] = field(default="budget:warning", repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ErrorEvent(_Event):
    """Something failed: the run (fatal), or a hook or approval handler (not fatal).

    A raising approval handler counts as a denial: the model reads an error result
    and the loop goes on.
    """

    error: BaseException
    source: Literal["run", "hook", "approval"] = "run"
    name: Literal["error"] = field(default="error", repr=False)


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


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Usage, Cost)):
        return value.to_dict()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, BaseException):
        return _error_dict(value)
    return value


def _error_dict(error: BaseException) -> dict[str, Any]:
    # Ours carry their own fields (errors.py); a hook's or tool's own exception is named
    # by its class, as the CLI's and a batch line's error are.
    if isinstance(error, AllTokenAgentError):
        return error.to_dict()
    name = type(error).__name__
    return {"code": name, "message": str(error), "type": name}
