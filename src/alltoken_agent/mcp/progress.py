"""A media job's events as MCP progress notifications, sent while the job runs.

The media core calls ``on_progress`` synchronously with each ``JobEvent``; sending a
notification is async, so the events go through a queue to a task that sends them in
order. While the gateway reports nothing new (a video can stay ``processing`` for
minutes), a heartbeat repeats the last status with the time waited, so the client sees
the call is alive. Nothing is sent unless the client asked for progress (the SDK drops
notifications without a progress token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Any

from mcp.server.mcpserver import Context

from alltoken_agent.media import JobEvent

logger = logging.getLogger("alltoken_agent.mcp")

HEARTBEAT = 5.0
"""Seconds without an event after which the last status is reported again."""
_DOWNLOAD_STEP = 0.1
"""Download progress is reported at each tenth of the file, not at every chunk."""


class JobProgress:
    """``on_progress`` for a media job, reporting through the tool call's context.

    Example:
        ```python
        async with JobProgress(ctx) as progress:
            result = await Media(gateway, store).videos.generate(prompt, on_progress=progress)
        ```
    """

    def __init__(self, ctx: Context[Any, Any], *, heartbeat: float = HEARTBEAT) -> None:
        self._ctx = ctx
        self._heartbeat = heartbeat
        self._queue: asyncio.Queue[JobEvent | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._started = time.monotonic()
        self._step = 0
        self._state = "submitting"
        self._downloaded = 0.0

    def __call__(self, event: JobEvent) -> None:
        """The ``on_progress`` callback: queue the event for the sender task."""
        self._queue.put_nowait(event)

    async def __aenter__(self) -> JobProgress:
        self._task = asyncio.create_task(self._send_all())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is None:
            return
        if exc is None:
            self._queue.put_nowait(None)  # send what is queued, then stop
            await self._task
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _send_all(self) -> None:
        while True:
            try:
                event = await asyncio.wait_for(self._queue.get(), self._heartbeat)
            except asyncio.TimeoutError:
                await self._send(f"{self._state} after {self._elapsed():.0f} s")
                continue
            if event is None:
                return
            message = self._describe(event)
            if message is not None:
                await self._send(message)

    def _describe(self, event: JobEvent) -> str | None:
        if event.name == "job:submitted":
            self._state = "submitted"
            task = f" (task {event.task_id})" if event.task_id else ""
            return f"submitted to {event.model}{task}"
        if event.name == "job:status":
            self._state = event.status
            return f"{event.status} after {event.elapsed:.0f} s"
        if event.name == "job:download":
            fraction = event.progress
            if fraction is None or fraction - self._downloaded < _DOWNLOAD_STEP and fraction < 1:
                return None
            self._downloaded = fraction
            self._state = "downloading"
            return f"downloading {fraction:.0%}"
        if event.name == "job:saved":
            self._downloaded = 0.0
            return f"saved {event.path}"
        return f"done after {event.elapsed:.0f} s"

    async def _send(self, message: str) -> None:
        self._step += 1
        try:
            await self._ctx.report_progress(self._step, None, message)
        except Exception as error:  # a client gone away must not fail the job
            logger.debug("progress notification not sent: %r", error)

    def _elapsed(self) -> float:
        return time.monotonic() - self._started
