"""A run's events on their way to its event stream: a list and one waiter.

Not an ``asyncio.Queue``: that is three deques (about 2 KiB) per run, and its consumer
takes one item per call. Here the one reader (the stream) takes everything queued at
once, so a burst of deltas leaves in one write; a held stream costs a list and, while
it waits, one future.

The keep-alive timeout is one timer per quiet spell, not one per wait: a model that
streams its chunks one at a time makes the stream wait once per chunk, and a timer
armed and cancelled each time was a few percent of the server's CPU. When the timer
fires early for the current wait, it is set again for the rest of it.

While the reader waits with nothing queued, a delta frame is not queued at all: the
``writer`` the stream installed sends it from the producer's task (see
``_frame_writer.py``), so a chunk costs one task step, not two, and the wait goes on
with its keep-alive counted from that frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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

    __slots__ = ("_items", "_waiter", "_timer", "_deadline", "_timeout", "writer")

    def __init__(self) -> None:
        self._items: list[Event | None] = []
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        """Wakes the waiter at ``_deadline``; kept across waits, gone once nobody waits."""
        self._deadline = 0.0
        """Loop time at which the current wait times out."""
        self._timeout = 0.0
        """The current wait's timeout: a frame written meanwhile starts it again."""
        self.writer: Callable[[bytes], bool] | None = None
        """Sends a frame from the producer's task while the reader waits (False: queue it)."""

    def put(self, item: Event | None) -> None:
        """Queue an event (or the closing ``None``) and wake the reader.

        A frame (bytes) put while the reader waits with nothing queued goes to
        ``writer`` instead, when it takes it; the reader sleeps on.
        """
        waiter = self._waiter
        if (
            type(item) is bytes
            and self.writer is not None
            and waiter is not None
            and not self._items
            and not waiter.done()
            and self.writer(item)
        ):
            # Not quiet: the keep-alive is due a full timeout after this frame.
            self._deadline = waiter.get_loop().time() + self._timeout
            return
        self._items.append(item)
        if waiter is not None:
            _wake(waiter)

    def notify(self) -> None:
        """Wake the reader with nothing queued (the writer has a send to hand over)."""
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
            self._timeout = timeout
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
