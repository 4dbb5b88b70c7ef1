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
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from alltoken_agent.server.protocol import HeaderClock, plain_reply

DEFAULT_HEAD_LIMIT: Final = 16 * 1024
"""h11's limit on an incomplete event (a request's head), which uvicorn keeps by default."""

_HEAD_TOO_LARGE = plain_reply(
    431, "Request Header Fields Too Large", "the request headers are too large; bye\r\n"
)


class _MissingHostError(Exception):
    """An HTTP/1.1 request without Host: the parser turns it into its own error (400)."""


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
