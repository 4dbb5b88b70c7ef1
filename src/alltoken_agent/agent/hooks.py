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


class Hooks:
    """Handlers by event name; a handler that raises is reported, never fatal."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = {}

    def on(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``handler`` for event ``name``; returns it, so it works as a decorator.

        Raises:
            UserError: ``name`` is not an event name.
        """
        if name not in EVENT_NAMES:
            known = ", ".join(sorted(EVENT_NAMES))
            raise UserError(f"unknown event {name!r}; events are: {known}")
        self._handlers.setdefault(name, []).append(handler)
        return handler

    def off(self, name: str, handler: Callable[..., Any] | None = None) -> None:
        """Remove ``handler`` from ``name`` (every handler of ``name`` when None)."""
        if handler is None:
            self._handlers.pop(name, None)
            return
        handlers = self._handlers.get(name, [])
        if handler in handlers:
            handlers.remove(handler)

    def wants(self, name: str) -> bool:
        """Whether any handler listens to ``name`` (lets the loop skip building events)."""
        return bool(self._handlers.get(name))

    async def emit(self, event: AgentEvent) -> None:
        """Call every handler of the event in registration order."""
        handlers = self._handlers.get(event.name)
        if not handlers:
            return
        for handler in list(handlers):
            try:
                outcome = handler(*event.args)
                if inspect.isawaitable(outcome):
                    await outcome
            # A broken hook must not break the run.
            except Exception as exc:
                if isinstance(event, ErrorEvent) and event.source == "hook":
                    logger.warning("error handler %r raised %r", handler, exc)
                else:
                    await self.emit(ErrorEvent(error=exc, source="hook"))
