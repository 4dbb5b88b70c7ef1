"""Delta frames sent while their stream waits, without waking it: one task step per chunk.

A model that streams its chunks one at a time (the usual case: a few tens a second
per stream) made each chunk cost two task steps: the run's, which parsed it and
queued its frame, then the stream's, woken only to pass that frame to ``send``. At
hundreds of open streams those wake-ups were a large part of the server's CPU per
chunk. So while the stream waits, the frames the run's task made from one network
read are sent by a plain callback once that task has made them all
(``EventQueue._flush``): one ``send``, one write, and the stream stays asleep.

Nothing may wait for the client there (a slow or stalled reader would hold the run,
the gateway's reply and the session's lease): the ``send`` coroutine is stepped
once, by hand. An ASGI server's ``send`` of a body normally finishes in that step
(it hands the bytes to the transport); when it does not (the server's flow control
waits for the client to read), what is left of it is handed over to the stream's
task, which finishes it before anything queued after it. Until then frames queue as
before, so every frame still leaves in order.

On uvicorn's httptools protocol (``_httptools_protocol.py``) a frame does not even go
through ``send``: the request's scope carries a writer (``BODY_WRITER_SCOPE_KEY``) that
puts the frame on the connection as the chunk ``send`` would have written. Between the
stream and uvicorn sat four ASGI layers (the body limit's, the cost headers', Starlette's
error handler's, uvicorn's own), each a coroutine and a message dict per chunk, none of
which looks at a body after the reply's start. The writer declines whenever ``send``
would do something else (paused writes to a slow client above all); the frame then
takes the path above, and later frames wait behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any, Final

from starlette.types import Send

from alltoken_agent.server._event_queue import EventQueue

BODY_WRITER_SCOPE_KEY: Final = "alltoken_agent.body_writer"
"""Scope key of a ``(bytes) -> bool`` that writes a chunk of the reply's body directly.

Set by the HTTP protocol (``_httptools_protocol.DirectBody``); False means "send it as
an ASGI message instead". Only for a reply's middle: its start and end go through
``send``. The app's middlewares must leave a reply's body as it is (none rewrites it).
"""

BodyWriter = Callable[[bytes], bool]


class FrameWriter:
    """Sends frames at once from the caller, or hands the send over to the stream's task.

    Installed as ``queue.writer`` by the event stream once its response has started.
    """

    __slots__ = ("_direct", "_error", "_owed", "_queue", "_send")

    def __init__(self, send: Send, queue: EventQueue, direct: BodyWriter | None = None) -> None:
        self._send = send
        self._queue = queue
        self._direct = direct
        """The connection's own writer (``BODY_WRITER_SCOPE_KEY``), when it has one."""
        self._owed: tuple[Generator[Any, None, None], Any] | None = None
        """A send that did not finish in its first step, and what it waits on."""
        self._error: Exception | None = None
        """What a send raised, for the stream's task to raise."""

    def __call__(self, frame: bytes) -> bool:
        """Send ``frame`` now (or hand its send over); False: not taken, queue it."""
        if self._owed is not None or self._error is not None:
            return False
        direct = self._direct
        if direct is not None:
            try:
                if direct(frame):
                    return True  # on the connection already
            except Exception as error:  # as for a send: raised by the stream's task
                self._error = error
                self._queue.notify()
                return True
        message = {"type": "http.response.body", "body": frame, "more_body": True}
        sending = self._send(message).__await__()
        try:
            waits_on = sending.send(None)
        except StopIteration:
            return True  # the usual case: the bytes are with the transport
        except Exception as error:  # raised by the stream's task, not here
            self._error = error
        else:
            self._owed = (sending, waits_on)
        self._queue.notify()
        return True

    @property
    def owed(self) -> bool:
        """Whether a send taken here is still to finish (or to report its failure)."""
        return self._owed is not None or self._error is not None

    async def settle(self) -> None:
        """In the stream's task: finish the send handed over, or raise what it raised."""
        error, self._error = self._error, None
        if error is not None:
            raise error
        if self._owed is None:
            return
        sending, waits_on = self._owed
        try:
            while True:
                if waits_on is None:  # a bare yield: the loop gets a turn
                    await asyncio.sleep(0)
                elif asyncio.isfuture(waits_on):
                    # Waited on, not awaited: the send reads the future's outcome itself when
                    # resumed, and a cancel of this task must not cancel the server's future.
                    await asyncio.wait([waits_on])
                else:
                    raise RuntimeError(f"an ASGI send yielded {waits_on!r}, not a future")
                waits_on = sending.send(None)
        except StopIteration:
            self._owed = None
        except BaseException:  # it failed, or this task was cancelled while it waited
            self._owed = None
            sending.close()
            raise

    def close(self) -> None:
        """The stream ended: a send still handed over is abandoned."""
        if self._owed is not None:
            self._owed[0].close()
            self._owed = None
