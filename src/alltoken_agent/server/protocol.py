"""Uvicorn's HTTP/1.1 protocol with a deadline for a request's headers.

Uvicorn times out an idle keep-alive connection, but not a client that is sending
its headers: one that connects and sends a byte a second (a "slowloris") holds a
connection, and many of them hold them all. Here every connection waiting for a
request's headers has a deadline, counted from when it connected or its previous
reply ended and never pushed back by the bytes that trickle in; past it the client
gets ``408 Request Timeout`` and the connection is closed. A connection that sent
nothing at all is closed without a reply, as an idle keep-alive connection is: a
client could take an unasked-for 408 for the answer to the request it sends next.
A request whose headers arrived in time is not affected, however long its body or
its answer takes.

The replies written here, below the app (408, and 400 for bytes that are not HTTP),
carry ``X-Request-Cost: 0`` and ``X-Budget-Remaining: unknown`` like every other.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_NO_COST_HEADERS = [(b"x-request-cost", b"0"), (b"x-budget-remaining", b"unknown")]
_TIMEOUT_REPLY = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 40\r\n"
    + b"".join(name + b": " + value + b"\r\n" for name, value in _NO_COST_HEADERS)
    + b"\r\n"
    b"the request headers took too long; bye\r\n"
)


class HeaderDeadlineProtocol(H11Protocol):
    """``H11Protocol`` that closes connections whose request headers do not arrive in time."""

    header_timeout: float = 10.0
    """Seconds a connection may wait for a complete set of request headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._started = False  # bytes of the awaited request have arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Note that the awaited request has begun (the clock keeps running)."""
        self._started = True
        super().data_received(data)

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this connection."""
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """Uvicorn's answer to bytes that are not HTTP, with the cost headers."""
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"connection", b"close"),
            *_NO_COST_HEADERS,
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=msg.encode("ascii")),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._started = False
        self._header_deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _expire(self) -> None:
        self._header_deadline = None
        # IDLE: the client has not finished the headers of a new request (a request
        # being read or answered is in SEND_BODY or DONE, and keeps its connection).
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        if self._started and self.conn.our_state is h11.IDLE:
            self.transport.write(_TIMEOUT_REPLY)
        self.transport.close()


def header_deadline_protocol(timeout: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class to give uvicorn (``http=``) for a header deadline of ``timeout`` s."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": timeout})
