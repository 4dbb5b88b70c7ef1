"""One HTTP/1.1 connection of chat's transport (_asyncio_transport.py): h11 on asyncio streams.

A request is written through h11 (the serializer httpcore uses, so the same calls put
the same bytes on the wire) and its reply read through it; every failure leaves as the
httpx exception httpx's own transport raises for it. The pool in _asyncio_transport.py
decides which connection a request takes and keeps the idle ones.
"""

from __future__ import annotations

import asyncio
import select
import sys
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import h11
import httpx

if TYPE_CHECKING:
    from alltoken_agent.gateway._asyncio_transport import AsyncioTransport

READ_BYTES = 64 * 1024
"""Most bytes taken from the socket per read (httpcore's figure)."""
MAX_HEAD_BYTES = 100 * 1024
"""Longest response head accepted (httpcore's figure; aiohttp's pool takes 64 KiB lines)."""

Origin = tuple[str, str, int]
T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """``await awaitable``, raising ``asyncio.TimeoutError`` after ``seconds`` (None: never)."""
    if seconds is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):  # no task of its own, unlike wait_for
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


class Connection:
    """One HTTP/1.1 connection: the socket's streams and h11's state of it."""

    __slots__ = ("_pool", "_reader", "_state", "_writer", "generation", "idle_since", "origin")

    def __init__(
        self,
        pool: AsyncioTransport,
        origin: Origin,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        generation: int,
    ) -> None:
        self._pool = pool
        self.generation = generation
        """The pool's generation it counts in; -1 once counted out."""
        self.origin = origin
        self._reader = reader
        self._writer = writer
        self._state = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.idle_since = 0.0

    async def send(
        self, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        """Write ``request`` and read the head of its response."""
        write_timeout = timeouts.get("write")
        try:
            head = self._state.send(
                h11.Request(
                    method=request.method, target=request.url.raw_path, headers=request.headers.raw
                )
            )
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        await self._write(head, write_timeout, request)
        try:
            async for chunk in request.stream:  # type: ignore[union-attr]  # an async stream
                await self._write(self._state.send(h11.Data(data=chunk)), write_timeout, request)
            await self._write(self._state.send(h11.EndOfMessage()), write_timeout, request)
        except httpx.WriteError:
            # As httpx's own transport does: a server may stop reading a request it
            # refuses and answer it; that answer is read, else the read fails too.
            pass
        except h11.LocalProtocolError as exc:  # a body longer or shorter than its length
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        read_timeout = timeouts.get("read")
        while True:
            event = await self._next_event(read_timeout, request)
            if isinstance(event, h11.Response):
                break
            if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
                break  # pragma: no cover - no upgrades are asked for
        return httpx.Response(
            event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, request, read_timeout),
            extensions={
                "http_version": b"HTTP/" + event.http_version,
                "reason_phrase": event.reason,
            },
        )

    async def _write(
        self, data: bytes | None, timeout: float | None, request: httpx.Request
    ) -> None:
        if not data:
            return
        try:
            self._writer.write(data)
            await within(self._writer.drain(), timeout)
        except asyncio.TimeoutError:
            raise httpx.WriteTimeout("timed out writing the request", request=request) from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None

    async def _next_event(self, timeout: float | None, request: httpx.Request) -> Any:
        """h11's next event of the response, reading from the socket as it needs."""
        state = self._state
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await within(self._reader.read(READ_BYTES), timeout)
            except asyncio.TimeoutError:
                raise httpx.ReadTimeout("timed out reading the reply", request=request) from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
            if not data and state.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            state.receive_data(data)

    def finished(self) -> None:
        """The response was read to its end: keep the connection if HTTP lets us."""
        state = self._state
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            if not state.trailing_data[0]:  # bytes after the reply: not a clean connection
                self._pool.connection_released(self)
                return
        self._pool.connection_closed(self)

    def reusable(self) -> bool:
        """Whether the server has neither closed the connection nor sent anything since."""
        reader = self._reader
        if reader.at_eof() or reader.exception() is not None:
            return False
        # While idle the loop keeps reading the socket into the reader: bytes sent since
        # the reply sit there (the stream has no public look at its buffer), not in the socket.
        if getattr(reader, "_buffer", None):
            return False
        sock = self._writer.get_extra_info("socket")
        if sock is None or sock.fileno() < 0:
            return False
        if sys.platform == "win32":  # pragma: no cover
            ready, _, _ = select.select([sock.fileno()], [], [], 0)
            return not ready
        poll = select.poll()
        poll.register(sock.fileno(), select.POLLIN)
        return not poll.poll(0)

    def close(self) -> None:
        """Close the socket (again: nothing)."""
        if self._writer.is_closing():
            return
        try:
            self._writer.close()
        except RuntimeError:  # its event loop is closed (a second asyncio.run): let it go
            pass


class _Body(httpx.AsyncByteStream):
    """A response body as h11 reads it off the connection."""

    __slots__ = ("_connection", "_done", "_request", "_timeout")

    def __init__(self, connection: Connection, request: httpx.Request, timeout: float | None):
        self._connection = connection
        self._request = request
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while not self._done:
            try:
                event = await connection._next_event(self._timeout, self._request)
            except BaseException:
                self._done = True
                connection._pool.connection_closed(connection)
                raise
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)) or event is h11.PAUSED:
                self._done = True
                connection.finished()

    async def aclose(self) -> None:
        """Hand the connection back when the body was read to its end, else close it."""
        if not self._done:
            self._done = True
            self._connection._pool.connection_closed(self._connection)
