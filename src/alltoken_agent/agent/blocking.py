"""The private event loop behind an agent's blocking methods (``run_sync``, ``send_sync``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from alltoken_agent.errors import UserError

T = TypeVar("T")


class BlockingLoop:
    """One event loop for every blocking call of an agent, so pooled connections stay usable."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, name: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``make()`` to completion on the private loop (opened on first use).

        ``make`` is called only once the check passed, so a refused call leaves no
        coroutine behind that was never awaited.

        Raises:
            UserError: Called from inside a running event loop.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UserError(f"{name}() cannot run inside an event loop; use await agent.send()")
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(make())

    def close(self, *closers: Callable[[], Awaitable[Any]]) -> bool:
        """Await each closer on the loop, then close it; False when no loop was open."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        for closer in closers:
            loop.run_until_complete(closer())
        loop.close()
        return True
