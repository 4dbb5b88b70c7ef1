"""A run's events on their way to its event stream: a list and one waiter.

Not an ``asyncio.Queue``: that is three deques (about 2 KiB) per run, and its consumer
takes one item per call. Here the one reader (the stream) takes everything queued at
once, so a burst of deltas leaves in one write; a held stream costs a list and, while
it waits, one future.
"""

from __future__ import annotations

import asyncio
from typing import Any

Event = tuple[str, dict[str, Any]]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class EventQueue:
    """Events one producer (the run) puts and one consumer (its stream) takes in bursts.

    ``None`` closes the stream: nothing is put after it.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Event | None] = []
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Event | None) -> None:
        """Queue an event (or the closing ``None``) and wake the reader."""
        self._items.append(item)
        if self._waiter is not None:
            _wake(self._waiter)

    def take(self) -> list[Event | None]:
        """Everything queued so far, oldest first; the queue is empty after."""
        items, self._items = self._items, []
        return items

    async def wait(self, timeout: float) -> bool:
        """Wait until something is queued or ``timeout`` seconds pass; whether it was."""
        if not self._items:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            # A timer, not wait_for: that would make a task per wait.
            timer = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return bool(self._items)
