"""Event handlers registered with ``agent.on(name, handler)``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from alltoken_agent.agent.events import EVENT_NAMES, AgentEvent, ErrorEvent
from alltoken_agent.errors import UserError

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
                if inspect.isawaitable(outcome):
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
