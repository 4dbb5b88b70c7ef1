"""An httpx transport of our own for requests sent one after another: h11 on asyncio streams.

Why not httpx's own transport for ``chat``: its pool (httpcore) takes its locks,
events and cancellation shields from anyio on asyncio, and importing httpcore and
the parts of anyio it uses cost a chat run about 30 ms of CPU before its request
(bench/cli_startup.py). A command with one request in flight at a time needs none
of that: this transport speaks HTTP/1.1 through h11 (the parser and serializer
httpcore itself uses, so the same calls put the same bytes on the wire) over
asyncio's streams, and keeps idle connections for the next request.

The gateway's default pool for many concurrent streams is aiohttp's (_pool.py);
proxies from the environment are left to httpx, which mounts its own transport for
them. Failures leave as the httpx exceptions httpx's own transport raises for them
(connect errors and timeouts, read and write errors and timeouts, a pool timeout,
a peer that breaks the protocol), which ``_transport.translate`` and the stream
already handle.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import h11
import httpx

READ_BYTES = 64 * 1024
"""Most bytes taken from the socket per read (httpcore's figure)."""
MAX_HEAD_BYTES = 100 * 1024
"""Longest response head accepted (httpcore's figure; aiohttp's pool takes 64 KiB lines)."""

HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before the next address of a host is dialled beside the first (RFC 8305)."""

Origin = tuple[str, str, int]
T = TypeVar("T")


async def _within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """``await awaitable``, raising ``asyncio.TimeoutError`` after ``seconds`` (None: never)."""
    if seconds is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):  # no task of its own, unlike wait_for
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


class AsyncioTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 on asyncio's streams, keeping idle connections for the next request.

    ``max_connections`` caps the open connections (in use and idle), None for no cap;
    a request beyond it waits for one, at most the request's ``pool`` timeout.
    Idle connections are closed after ``keepalive_expiry`` seconds, or when the
    server has closed them (or sent anything) meanwhile. ``verify``: the TLS
    context for https (True: the system's and certifi's CAs, made on first use).
    """

    def __init__(
        self,
        *,
        max_connections: int | None = 1000,
        keepalive_expiry: float = 5.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._verify = verify
        self._ssl: ssl.SSLContext | None = verify if isinstance(verify, ssl.SSLContext) else None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open = 0
        """Connections open, in use or idle (against ``max_connections``)."""
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = 0
        """Which event loop's connections ``_open`` counts (one more per new loop)."""

    @property
    def max_connections(self) -> int | None:
        """The cap on open connections (None: none)."""
        return self._limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response with its body still to read."""
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = await self._connection_for(request, timeouts)
        try:
            return await connection.send(request, timeouts)
        except BaseException:
            self._closed(connection)
            raise

    async def aclose(self) -> None:
        """Close every idle connection (one in use closes when its response does)."""
        self._check_loop()  # those of an event loop that is gone are let go instead
        idle = [connection for connections in self._idle.values() for connection in connections]
        self._idle.clear()
        for connection in idle:
            self._closed(connection)

    # -- connections --------------------------------------------------------------

    async def _connection_for(
        self, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> _Connection:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request
            )
        host = url.raw_host.decode("ascii")
        origin = (scheme, host, url.port or (443 if scheme == "https" else 80))
        self._check_loop()
        reused = await self._reserve(request, origin, timeouts.get("pool"))
        if reused is not None:
            return reused
        try:
            return await self._connect(request, origin, timeouts.get("connect"))
        except BaseException:
            self._forget()
            raise

    def _check_loop(self) -> None:
        """Forget the connections of an event loop that is gone (a second asyncio.run)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()
            self._open = 0
            self._waiters.clear()
            self._generation += 1  # a connection of the old loop no longer counts
        self._loop = loop

    def _take_idle(self, origin: Origin) -> _Connection | None:
        """An idle connection to ``origin`` still fit for a request, closing stale ones."""
        connections = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while connections:
            connection = connections.pop()
            if now - connection.idle_since <= self._keepalive and connection.reusable():
                return connection
            self._closed(connection)
        return None

    async def _reserve(
        self, request: httpx.Request, origin: Origin, pool_timeout: float | None
    ) -> _Connection | None:
        """An idle connection to ``origin``, else None with room counted for a new one.

        Under the cap, a request waits (at most ``pool_timeout``) for a connection to
        be handed back or closed; an idle one to another origin is closed for room.
        """
        while True:
            reused = self._take_idle(origin)
            if reused is not None:
                return reused
            if self._limit is None or self._open < self._limit:
                self._open += 1
                return None
            if self._close_one_idle():
                continue
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await _within(waiter, pool_timeout)
            except asyncio.TimeoutError:
                raise httpx.PoolTimeout(
                    "timed out waiting for a free connection", request=request
                ) from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _close_one_idle(self) -> bool:
        for connections in self._idle.values():
            if connections:
                self._closed(connections.pop(0))
                return True
        return False

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(
        self, request: httpx.Request, origin: Origin, timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        server_name = None
        if context is not None:
            sni = request.extensions.get("sni_hostname")
            server_name = sni.decode("ascii") if isinstance(sni, bytes) else (sni or host)
        try:
            reader, writer = await _within(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=server_name,
                    limit=READ_BYTES,
                    # A name with several addresses: the next is tried after 250 ms
                    # without waiting for the first to fail, as anyio (httpx's) does.
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from None
        except OSError as exc:  # refused, unreachable, no such name, a TLS failure
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return _Connection(self, origin, reader, writer, self._generation)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # Made on first https use: loading the CA bundle takes tens of milliseconds.
            self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl

    def _released(self, connection: _Connection) -> None:
        """``connection``'s response was read to its end: keep it for the next request."""
        if self._loop is not asyncio.get_running_loop():  # pragma: no cover - defensive
            connection.close()
            return
        connection.idle_since = self._loop.time()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._wake()

    def _closed(self, connection: _Connection) -> None:
        """``connection`` cannot carry another request: close it and free its place."""
        connection.close()
        if connection.generation == self._generation:
            connection.generation = -1  # counted out once
            self._forget()

    def _forget(self) -> None:
        """One connection fewer is open: a request waiting for room may go."""
        self._open -= 1
        self._wake()


class _Connection:
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
            await _within(self._writer.drain(), timeout)
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
                data = await _within(self._reader.read(READ_BYTES), timeout)
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
                self._pool._released(self)
                return
        self._pool._closed(self)

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

    def __init__(self, connection: _Connection, request: httpx.Request, timeout: float | None):
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
                connection._pool._closed(connection)
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
            self._connection._pool._closed(self._connection)
