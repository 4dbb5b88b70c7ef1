"""Event handlers: ``agent.on(name, handler)``, typed per event name, and their registry.

``Hooks`` keeps the handlers by event name and calls them (a handler that raises is
reported, never fatal). ``EventHandlers`` gives the agent ``on`` and ``off``, overloaded
per event name so a type checker catches a misspelled name, or a handler that takes
more arguments than the event gives (or arguments of the wrong type). A handler may
take fewer: it gets the leading fields of the payload (``positional_capacity``), as the
AllToken agent skill's shorter payloads do. The payloads are the events' ``args``
(``events.py``), in field order.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, overload

from alltoken_agent.agent.events import EVENT_NAMES, AgentEvent, ErrorEvent, EventName
from alltoken_agent.errors import UserError
from alltoken_agent.gateway.types import Cost, Usage

logger = logging.getLogger("alltoken_agent")


class Handler(Protocol):
    """A hook: called with the event's payload positionally; sync or async."""

    def __call__(self, *args: Any) -> None | Awaitable[None]:
        """Handle one event."""


def positional_capacity(handler: Callable[..., Any]) -> int | None:
    """How many positional arguments ``handler`` takes (None: any number).

    Our payloads extend the skill's (``tool:result`` adds ``is_error``,
    ``stream:start`` the model and step), and Python, unlike JavaScript,
    refuses surplus arguments: a handler written for the skill's shorter
    payload gets the leading fields only.
    """
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return None
    count = 0
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


class Hooks:
    """Handlers by event name; a handler that raises is reported, never fatal."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[Callable[..., Any], int | None]]] = {}

    def on(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``handler`` for event ``name``; returns it, so it works as a decorator.

        Raises:
            UserError: ``name`` is not an event name, or ``handler`` is not callable.
        """
        if name not in EVENT_NAMES:
            known = ", ".join(sorted(EVENT_NAMES))
            raise UserError(f"unknown event {name!r}; events are: {known}")
        if not callable(handler):
            raise UserError(f"the handler for {name!r} must be callable, not {handler!r}")
        self._handlers.setdefault(name, []).append((handler, positional_capacity(handler)))
        return handler

    def off(self, name: str, handler: Callable[..., Any] | None = None) -> None:
        """Remove ``handler`` from ``name`` (every handler of ``name`` when None)."""
        if handler is None:
            self._handlers.pop(name, None)
            return
        handlers = self._handlers.get(name, [])
        for index, (registered, _) in enumerate(handlers):
            if registered == handler:
                del handlers[index]
                return

    def wants(self, name: str) -> bool:
        """Whether any handler listens to ``name`` (lets the loop skip building events)."""
        return bool(self._handlers.get(name))

    @property
    def listening(self) -> Callable[[str], object]:
        """``wants`` as one C call (truthy when a handler listens), for per-chunk checks."""
        return self._handlers.get

    async def emit(self, event: AgentEvent) -> None:
        """Call every handler of the event in registration order."""
        handlers = self._handlers.get(event.name)
        if not handlers:
            return
        payload = event.args
        for handler, capacity in list(handlers):
            try:
                outcome = handler(*(payload if capacity is None else payload[:capacity]))
                # A sync handler's None skips isawaitable's ABC check (once per chunk).
                if outcome is not None and inspect.isawaitable(outcome):
                    await outcome
            # A broken hook must not break the run.
            except Exception as exc:
                if isinstance(event, ErrorEvent) and event.source == "hook":
                    logger.warning("error handler %r raised %r", handler, exc)
                elif self.wants("error"):
                    await self.emit(ErrorEvent(error=exc, source="hook"))
                else:
                    # Nobody listens for errors: a log line, so the bug is not invisible.
                    logger.warning("%s handler %r raised %r", event.name, handler, exc)


# -- agent.on(), typed per event name ------------------------------------------

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
