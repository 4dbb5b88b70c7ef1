"""The header deadline on uvicorn's httptools protocol, and the limits h11 has and it lacks.

Imported only when httptools is installed (``protocol.header_deadline_protocol``).

llhttp, the parser under httptools, is faster than h11 but keeps no limit of its own on
a request's head: a client could send headers without end, and the parser would keep
them all. Here the bytes of a head (request line and headers) are counted as they come,
and past the limit h11 has (uvicorn's ``h11_max_incomplete_event_size``, 16 KiB unless
set) the client gets ``431 Request Header Fields Too Large`` and the connection closes.
An HTTP/1.1 request without ``Host`` is refused with 400, as h11 refuses it (RFC 9112
§3.2). The count is by received chunk, so a head may pass the limit by at most one
read before it is refused.

Each request's scope also carries a :class:`DirectBody` (``BODY_WRITER_SCOPE_KEY``): an
event stream writes its frames with it straight to the connection, as uvicorn's own
``send`` would frame them, instead of through every ASGI layer (``_frame_writer.py``).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from alltoken_agent.server._frame_writer import BODY_WRITER_SCOPE_KEY
from alltoken_agent.server.protocol import HeaderClock, plain_reply

DEFAULT_HEAD_LIMIT: Final = 16 * 1024
"""h11's limit on an incomplete event (a request's head), which uvicorn keeps by default."""

_HEAD_TOO_LARGE = plain_reply(
    431, "Request Header Fields Too Large", "the request headers are too large; bye\r\n"
)


class _MissingHostError(Exception):
    """An HTTP/1.1 request without Host: the parser turns it into its own error (400)."""


class DirectBody:
    """Writes a part of a chunked reply's body straight to the connection, or declines.

    The bytes are those uvicorn's ``send`` writes for ``{"type": "http.response.body",
    "body": body, "more_body": True}`` (one HTTP/1.1 chunk), without the message dict and
    the coroutine of every ASGI layer in between, which only look at a reply's start.
    It declines (False: send it as a message) whenever that ``send`` would do anything
    else: the reply has not started or is complete, is not chunked (``HEAD``, a length),
    the client has gone, or the connection's writes are paused for a slow reader (the
    message's ``send`` waits for it to drain: back-pressure stays uvicorn's).

    The cycle is held weakly: the cycle holds the scope, which holds this.
    """

    __slots__ = ("_cycle",)

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self._cycle = weakref.ref(cycle)

    def __call__(self, body: bytes) -> bool:
        """Write ``body`` as the reply's next chunk; False: not written, send it instead."""
        cycle = self._cycle()
        if (
            cycle is None
            or not body
            or cycle.chunked_encoding is not True
            or cycle.disconnected
            or cycle.response_complete
            or not cycle.response_started
            or cycle.flow.write_paused
        ):
            return False
        cycle.transport.write(b"%x\r\n%b\r\n" % (len(body), body))
        return True


class HttpToolsDeadlineProtocol(HeaderClock, HttpToolsProtocol):
    """``HttpToolsProtocol`` with the header deadline, a head limit and a Host check."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_limit: int = self.config.h11_max_incomplete_event_size or DEFAULT_HEAD_LIMIT
        self._head_bytes = 0
        self._in_head = False
        """A request's head has begun and is not complete yet."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Parse, noting that the awaited request has begun; refuse a head past the limit."""
        self._started = True
        super().data_received(data)
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._head_limit and not self.transport.is_closing():
                self.logger.warning("Request headers too large.")
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        """A request's head begins: its bytes are counted from here."""
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        """Refuse HTTP/1.1 without Host, as h11 does; else start the request."""
        self._in_head = False
        if self.parser.get_http_version() == "1.1" and not any(
            name == b"host" for name, _ in self.headers
        ):
            raise _MissingHostError  # raised in the parser's callback: uvicorn answers 400
        super().on_headers_complete()
        cycle = self.cycle
        # Not for an upgrade (no new cycle) or a pipelined request's older cycle.
        if cycle is not None and cycle.scope is self.scope:
            self.scope[BODY_WRITER_SCOPE_KEY] = DirectBody(cycle)  # type: ignore[typeddict-unknown-key]

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this connection."""
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """Uvicorn's answer to bytes that are not HTTP, with the cost headers.

        As for h11 (``protocol.py``): a request whose body went wrong is over for the app,
        and once a reply has begun the connection is only closed.
        """
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            if cycle.response_started:
                self.transport.close()
                return
        self.transport.write(plain_reply(400, "Bad Request", msg))
        self.transport.close()

    def _awaiting_headers(self) -> bool:
        # No request, or the last one answered: the next one's headers are owed. A
        # request read ahead (pipelined) is the current cycle already, unanswered.
        return self.cycle is None or self.cycle.response_complete
