"""``agent.on(name, handler)`` typed per event name, so a type checker catches mistakes.

A misspelled event name, or a handler that takes more arguments than the event
gives (or arguments of the wrong type), fails type checking. A handler may take
fewer: it gets the leading fields of the payload (``hooks.positional_capacity``),
as the AllToken agent skill's shorter payloads do. The payloads are the events'
``args`` (``events.py``), in field order.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypeAlias, TypeVar, overload

from alltoken_agent.agent.events import EventName
from alltoken_agent.agent.hooks import Hooks
from alltoken_agent.gateway.types import Cost, Usage

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
E = TypeVar("E")

# A handler of a payload (A, B, ...) takes all of it or its leading fields; sync or async.
Handler0: TypeAlias = Callable[[], object]
Handler1: TypeAlias = Callable[[A], object] | Callable[[], object]
Handler2: TypeAlias = Callable[[A, B], object] | Callable[[A], object] | Callable[[], object]
Handler3: TypeAlias = (
    Callable[[A, B, C], object]
    | Callable[[A, B], object]
    | Callable[[A], object]
    | Callable[[], object]
)
Handler4: TypeAlias = (
    Callable[[A, B, C, D], object]
    | Callable[[A, B, C], object]
    | Callable[[A, B], object]
    | Callable[[A], object]
    | Callable[[], object]
)
Handler5: TypeAlias = (
    Callable[[A, B, C, D, E], object]
    | Callable[[A, B, C, D], object]
    | Callable[[A, B, C], object]
    | Callable[[A, B], object]
    | Callable[[A], object]
    | Callable[[], object]
)

Message = dict[str, Any]
"""``{"role": ..., "content": ...}``, the skill's payload of ``message:*`` events."""
Outcome = Literal["done", "error", "cancelled"]
ErrorSource = Literal["run", "hook", "approval"]


class EventHandlers:
    """``on`` and ``off``: handlers by event name (the agent's ``Hooks``)."""

    _hooks: Hooks

    @overload
    def on(
        self, name: Literal["message:user", "message:assistant"], handler: Handler1[Message]
    ) -> Handler1[Message]: ...

    @overload
    def on(
        self, name: Literal["stream:start"], handler: Handler2[str, int]
    ) -> Handler2[str, int]: ...

    @overload
    def on(
        self, name: Literal["stream:delta", "reasoning:delta"], handler: Handler2[str, str]
    ) -> Handler2[str, str]: ...

    @overload
    def on(
        self, name: Literal["stream:end"], handler: Handler2[str, str | None]
    ) -> Handler2[str, str | None]: ...

    @overload
    def on(
        self, name: Literal["thinking:start", "reasoning:start"], handler: Handler0
    ) -> Handler0: ...

    @overload
    def on(
        self, name: Literal["thinking:end"], handler: Handler1[Outcome]
    ) -> Handler1[Outcome]: ...

    @overload
    def on(self, name: Literal["reasoning:end"], handler: Handler1[str]) -> Handler1[str]: ...

    @overload
    def on(
        self, name: Literal["tool:call"], handler: Handler3[str, Any, str]
    ) -> Handler3[str, Any, str]: ...

    @overload
    def on(
        self, name: Literal["tool:result"], handler: Handler4[str, str, str, bool]
    ) -> Handler4[str, str, str, bool]: ...

    @overload
    def on(
        self, name: Literal["tool:approval"], handler: Handler5[str, Any, str, str, str | None]
    ) -> Handler5[str, Any, str, str, str | None]: ...

    @overload
    def on(
        self, name: Literal["context:trimmed"], handler: Handler5[str, int, int, int, int]
    ) -> Handler5[str, int, int, int, int]: ...

    @overload
    def on(self, name: Literal["usage"], handler: Handler2[Usage, str]) -> Handler2[Usage, str]: ...

    @overload
    def on(self, name: Literal["cost"], handler: Handler2[Cost, str]) -> Handler2[Cost, str]: ...

    @overload
    def on(
        self, name: Literal["model:fallback", "model:chosen"], handler: Handler3[str, str, str]
    ) -> Handler3[str, str, str]: ...

    @overload
    def on(
        self, name: Literal["notice"], handler: Handler2[str, str | None]
    ) -> Handler2[str, str | None]: ...

    @overload
    def on(
        self,
        name: Literal["budget:warning"],
        handler: Handler4[str, Decimal, Decimal, float],
    ) -> Handler4[str, Decimal, Decimal, float]: ...

    @overload
    def on(
        self, name: Literal["error"], handler: Handler2[BaseException, ErrorSource]
    ) -> Handler2[BaseException, ErrorSource]: ...

    def on(self, name: EventName, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``handler(*payload)`` on every ``name`` event; sync or async.

        A handler that raises is reported as an ``error`` event, never fatal.

        Raises:
            UserError: ``name`` is not an event name, or ``handler`` is not callable.
        """
        return self._hooks.on(name, handler)

    def off(self, name: EventName, handler: Callable[..., Any] | None = None) -> None:
        """Stop calling ``handler`` (or every handler) for ``name``."""
        self._hooks.off(name, handler)
