"""A run's events on their way to its event stream: a list and one waiter.

Not an ``asyncio.Queue``: that is three deques (about 2 KiB) per run, and its consumer
takes one item per call. Here the one reader (the stream) takes everything queued at
once, so a burst of deltas leaves in one write; a held stream costs a list and, while
it waits, one future.

The keep-alive timeout is one timer per quiet spell, not one per wait: a model that
streams its chunks one at a time makes the stream wait once per chunk, and a timer
armed and cancelled each time was a few percent of the server's CPU. When the timer
fires early for the current wait, it is set again for the rest of it.
"""

from __future__ import annotations

import asyncio
from typing import Any

Event = tuple[str, dict[str, Any]] | bytes
"""An event as its name and JSON payload, or already encoded for the wire (a delta)."""


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class EventQueue:
    """Events one producer (the run) puts and one consumer (its stream) takes in bursts.

    ``None`` closes the stream: nothing is put after it.
    """

    __slots__ = ("_items", "_waiter", "_timer", "_deadline")

    def __init__(self) -> None:
        self._items: list[Event | None] = []
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        """Wakes the waiter at ``_deadline``; kept across waits, gone once nobody waits."""
        self._deadline = 0.0
        """Loop time at which the current wait times out."""

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
            self._deadline = loop.time() + timeout
            if self._timer is None:
                self._timer = loop.call_at(self._deadline, self._expire)
            try:
                await waiter
            finally:
                self._waiter = None
        return bool(self._items)

    def _expire(self) -> None:
        """The timer: time the current wait out, or set it again for the rest of it."""
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits: the next wait sets a timer of its own
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            _wake(waiter)
        else:  # armed by an earlier wait: this one started later
            self._timer = loop.call_at(self._deadline, self._expire)
