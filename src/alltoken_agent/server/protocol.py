"""Uvicorn's HTTP/1.1 protocols with a deadline for a request's headers.

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

Two parsers: httptools (uvicorn's fast C parser, ``_httptools_protocol.py``) when it is
installed (the ``server`` extra brings it), else h11 (pure Python, always there). They
answer hostile bytes alike: 400 and a close for bytes that are not HTTP, a close once a
request's headers pass uvicorn's head limit (``h11_max_incomplete_event_size``, 16 KiB;
h11 answers 400, httptools 431), 408 for headers too slow.

The replies written here, below the app (408, 400 and 431), carry ``X-Request-Cost: 0``
and ``X-Budget-Remaining: unknown`` like every other.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HttpParser = Literal["auto", "httptools", "h11"]
"""Which parser serves HTTP/1.1: ``auto`` is httptools when installed, else h11."""

NO_COST_HEADERS = [(b"x-request-cost", b"0"), (b"x-budget-remaining", b"unknown")]


def plain_reply(status: int, reason: str, text: str) -> bytes:
    """A whole ``text/plain`` reply that closes the connection, with the cost headers."""
    body = text.encode("ascii")
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Connection: close\r\n"
        f"Content-Length: {len(body)}\r\n".encode("ascii")
        + b"".join(name + b": " + value + b"\r\n" for name, value in NO_COST_HEADERS)
        + b"\r\n"
        + body
    )


_TIMEOUT_REPLY = plain_reply(408, "Request Timeout", "the request headers took too long; bye\r\n")


class HeaderClock:
    """The header deadline, for a uvicorn protocol class that tells when it awaits headers.

    The protocol arms it when a connection is made and when a reply ends, and disarms it
    when the connection is lost; it fires once per arming.
    """

    header_timeout: float = 10.0
    """Seconds a connection may wait for a complete set of request headers."""
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _header_deadline: asyncio.TimerHandle | None = None
    _started = False
    """Bytes of the awaited request have arrived (the clock keeps running)."""

    def _awaiting_headers(self) -> bool:
        """Whether no request is being read or answered: the client owes a request's headers."""
        raise NotImplementedError

    def _may_answer(self) -> bool:
        """Whether a 408 may be written now (no reply of ours is under way)."""
        return True

    def _arm(self) -> None:
        self._disarm()
        self._started = False
        if not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _expire(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or not self._awaiting_headers():
            return  # a request under way keeps its connection; its reply's end re-arms
        if self._started and self._may_answer():
            self.transport.write(_TIMEOUT_REPLY)
        self.transport.close()


class HeaderDeadlineProtocol(HeaderClock, H11Protocol):
    """``H11Protocol`` that closes connections whose request headers do not arrive in time."""

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
        """Uvicorn's answer to bytes that are not HTTP, with the cost headers.

        Bytes that go wrong in a body the app is reading (a bad chunk size) end the
        request: the app's own answer, if it sends one, goes nowhere instead of into a
        connection h11 has closed (which raised in the app and was logged as its failure).
        Once a reply has begun, the connection is only closed.
        """
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.close()
            return
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"connection", b"close"),
            *NO_COST_HEADERS,
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=msg.encode("ascii")),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def _awaiting_headers(self) -> bool:
        # IDLE: the client has not finished the headers of a new request (a request
        # being read or answered is in SEND_BODY or DONE, and keeps its connection).
        return self.conn.their_state is h11.IDLE

    def _may_answer(self) -> bool:
        return self.conn.our_state is h11.IDLE


def httptools_available() -> bool:
    """Whether the httptools parser is installed."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return False
    return True


def header_deadline_protocol(timeout: float, http: HttpParser = "auto") -> type[Any]:
    """The protocol class to give uvicorn (``http=``) for a header deadline of ``timeout`` s.

    Raises:
        ImportError: ``http="httptools"`` without httptools installed.
    """
    base: type[Any] = HeaderDeadlineProtocol
    if http == "httptools" or (http == "auto" and httptools_available()):
        from alltoken_agent.server._httptools_protocol import HttpToolsDeadlineProtocol

        base = HttpToolsDeadlineProtocol
    return type(base.__name__, (base,), {"header_timeout": timeout})
