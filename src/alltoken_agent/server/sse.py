"""Server-sent events: a run's events on the wire, with keep-alives while it is quiet.

Each event is ``event: NAME`` plus one ``data:`` line holding the same JSON object the
CLI prints with ``--json`` (``{"event": NAME, ...}``), so a client can read either the
event field or the JSON alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Final

from alltoken_agent.server.runs import Run

KEEPALIVE: Final = b": keep-alive\n\n"
"""An SSE comment: ignored by clients, keeps proxies from closing a quiet stream."""

_TICK: Final[Any] = ("keep-alive", {})
"""Put in a run's queue by the keep-alive timer (compared by identity)."""

HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers of every event stream: nothing may cache or buffer it."""


_JSON: Final = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))
"""One encoder for every event: ``json.dumps`` with options builds a new one per call."""


def encode(name: str, payload: dict[str, Any]) -> bytes:
    """One event in the SSE wire format."""
    return f"event: {name}\ndata: {_JSON.encode(payload)}\n\n".encode()


async def event_stream(run: Run, keepalive: float) -> AsyncIterator[bytes]:
    """The run's events as SSE, ending after its final event.

    When the client goes away the response stops reading, this generator is closed,
    and the run is cancelled (its finished steps stay saved).
    """
    queue = run.events
    loop = asyncio.get_running_loop()
    try:
        while True:
            if queue.empty():
                # A timer that drops a tick into the queue, not wait_for: that would make a
                # task per event, most of what relaying one chunk costs the loop.
                timer = loop.call_later(keepalive, queue.put_nowait, _TICK)
                try:
                    item = await queue.get()
                finally:
                    timer.cancel()
            else:
                item = queue.get_nowait()
            if item is _TICK:
                yield KEEPALIVE
                continue
            # Events that arrived together leave in one write: a burst of deltas costs one
            # trip through the ASGI stack and one send, not one each.
            chunk = []
            while item is not None:
                if item is not _TICK:  # a tick that fired as events came: nothing to say
                    chunk.append(encode(*item))
                if queue.empty():
                    break
                item = queue.get_nowait()
            if chunk:
                yield b"".join(chunk)
            if item is None:
                return
    finally:
        if not run.finished:
            run.cancel("client_disconnected")
