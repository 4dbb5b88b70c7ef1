"""A run's events on their way to its event stream: a list and one waiter.

Not an ``asyncio.Queue``: that is three deques (about 2 KiB) per run, and its consumer
takes one item per call. Here the one reader (the stream) takes everything queued at
once, so a burst of deltas leaves in one write; a held stream costs a list and, while
it waits, one future.

The keep-alive timeout is one timer per quiet spell, not one per wait: a model that
streams its chunks one at a time makes the stream wait once per chunk, and a timer
armed and cancelled each time was a few percent of the server's CPU. When the timer
fires early for the current wait, it is set again for the rest of it.

While the reader waits, a delta frame does not wake it: the ``writer`` the stream
installed sends it (see ``_frame_writer.py``) from a callback that runs once the
producer's task has made what its network read brought, so a chunk costs one task step,
not two, a burst of frames still leaves in one write, and the wait goes on with its
keep-alive counted from that write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

Event = tuple[str, dict[str, Any]] | bytes
"""An event as its name and JSON payload, or already encoded for the wire (a delta)."""


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class EventQueue:
    """Events one producer (the run) puts and one consumer (its stream) takes in bursts.

    ``None`` closes the stream: nothing is put after it.
    """

    __slots__ = ("_items", "_waiter", "_timer", "_deadline", "_timeout", "_flushing", "writer")

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
        """Sends frames while the reader waits (False: not taken, the reader sends them)."""
        self._flushing = False
        """Whether a :meth:`_flush` is scheduled."""

    def put(self, item: Event | None) -> None:
        """Queue an event (or the closing ``None``) and wake the reader.

        A frame (bytes) put while the reader waits goes to ``writer`` instead, with the
        frames put after it in the same loop step (one network read's chunks): the
        reader sleeps on, and a burst still leaves in one write.
        """
        waiter = self._waiter
        self._items.append(item)
        if waiter is None:
            return
        if type(item) is bytes and self.writer is not None and not waiter.done():
            if not self._flushing:
                self._flushing = True
                waiter.get_loop().call_soon(self._flush)
            return
        _wake(waiter)

    def _flush(self) -> None:
        """Hand the frames queued while the reader waits to ``writer``, as one."""
        self._flushing = False
        waiter = self._waiter
        if not self._items or waiter is None or waiter.done() or self.writer is None:
            return  # the reader was woken meanwhile (another event, its timer): it sends them
        # Only frames are queued: anything else would have woken the reader.
        frames = cast("list[bytes]", self._items)
        frame = frames[0] if len(frames) == 1 else b"".join(frames)
        self._items = []
        if self.writer(frame):
            # Not quiet: the keep-alive is due a full timeout after this frame.
            self._deadline = waiter.get_loop().time() + self._timeout
        else:
            self._items.append(frame)
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
