"""Server-sent events: a run's events on the wire, with keep-alives while it is quiet.

Each event is ``event: NAME`` plus one ``data:`` line holding the same JSON object the
CLI prints with ``--json`` (``{"event": NAME, ...}``), so a client can read either the
event field or the JSON alone.

:class:`EventStreamResponse` is a plain ASGI response rather than Starlette's
``StreamingResponse``, which runs each stream in a task group of two tasks with a
cancel scope (several KiB and a task switch per stream): here one small task watches
for the client leaving, and the response itself sends what the run queued; deltas
made while it waits are sent without waking it (``_frame_writer.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any, Final

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from alltoken_agent.server._frame_writer import BODY_WRITER_SCOPE_KEY, BodyWriter, FrameWriter
from alltoken_agent.server.runs import Run

KEEPALIVE: Final = b": keep-alive\n\n"
"""An SSE comment: ignored by clients, keeps proxies from closing a quiet stream."""

HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers of every event stream: nothing may cache or buffer it."""

_RAW_HEADERS: Final = [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
_CONTENT_TYPE: Final = (b"content-type", b"text/event-stream; charset=utf-8")

_JSON: Final = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))
"""One encoder for every event: ``json.dumps`` with options builds a new one per call."""


def encode(name: str, payload: dict[str, Any]) -> bytes:
    """One event in the SSE wire format."""
    return f"event: {name}\ndata: {_JSON.encode(payload)}\n\n".encode()


def delta_frame(name: str, delta: str) -> bytes:
    """A delta event (``stream:delta``, ``reasoning:delta``) on the wire, from its text alone.

    The same bytes as ``encode(name, event.to_dict())`` (``{"event": name, "delta": ...}``;
    a test pins them alike), without building the dict and walking it: one is sent per
    streamed chunk, the most frequent event by far. ``encode_basestring`` is the string
    encoder ``_JSON`` itself uses (``ensure_ascii=False``).
    """
    return (
        f'event: {name}\ndata: {{"event":"{name}","delta":{encode_basestring(delta)}}}\n\n'
    ).encode()


async def _watch(receive: Receive, run: Run) -> None:
    """Cancel the run when the client goes away (its finished steps stay saved)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    run.cancel("client_disconnected")


class EventStreamResponse(Response):
    """The run's events as SSE, ending after its final event.

    When the client goes away the run is cancelled; its stream then ends with the run's
    ``error`` event, which nobody reads.
    """

    media_type = "text/event-stream"

    def __init__(self, run: Run, keepalive: float, headers: Mapping[str, str]) -> None:
        self.run = run
        self.keepalive = keepalive
        self.status_code = 200
        self.background = None
        # Built from shared tuples, not a dict turned into new ones for every stream.
        self.raw_headers = [
            *_RAW_HEADERS,
            *(
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in headers.items()
            ),
            _CONTENT_TYPE,
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response: headers, then the run's events as they come."""
        run = self.run
        watcher = asyncio.get_running_loop().create_task(_watch(receive, run))
        writer: FrameWriter | None = None
        # The connection's direct writer for the reply's middle (_frame_writer.py), if any.
        direct: BodyWriter | None = scope.get(BODY_WRITER_SCOPE_KEY)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            queue = run.events
            # From here delta frames the run makes while this task waits are sent without it
            # (_frame_writer.py); it wakes for other events, a handed-over send, a keep-alive.
            writer = queue.writer = FrameWriter(send, queue, direct)
            closed = False
            while not closed:
                ready = await queue.wait(self.keepalive)
                if writer.owed:  # before anything queued after it
                    await writer.settle()
                elif not ready:
                    if direct is None or not direct(KEEPALIVE):
                        body = {"type": "http.response.body", "body": KEEPALIVE, "more_body": True}
                        await send(body)
                    continue
                # Events that arrived together leave in one write: a burst of deltas costs
                # one trip through the ASGI stack and one send, not one each; the last of
                # them (the final event) ends the response in the same send.
                chunk: list[bytes] = []
                for item in queue.take():
                    if item is None:
                        closed = True
                        break
                    # Deltas come encoded already (delta_frame); other events as (name, dict).
                    chunk.append(item if type(item) is bytes else encode(*item))
                if chunk or closed:
                    data = b"".join(chunk)
                    if closed or direct is None or not direct(data):
                        more = not closed
                        await send({"type": "http.response.body", "body": data, "more_body": more})
        finally:
            run.events.writer = None
            if writer is not None:
                writer.close()
            watcher.cancel()
            if not run.finished:
                run.cancel("client_disconnected")
