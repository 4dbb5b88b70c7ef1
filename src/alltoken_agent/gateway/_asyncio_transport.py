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
import ssl
from collections import deque

import httpx

from alltoken_agent.gateway._h11_connection import READ_BYTES, Connection, Origin, within

HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before the next address of a host is dialled beside the first (RFC 8305)."""


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
        self._idle: dict[Origin, list[Connection]] = {}
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
            self.connection_closed(connection)
            raise

    async def aclose(self) -> None:
        """Close every idle connection (one in use closes when its response does)."""
        self._check_loop()  # those of an event loop that is gone are let go instead
        idle = [connection for connections in self._idle.values() for connection in connections]
        self._idle.clear()
        for connection in idle:
            self.connection_closed(connection)

    # -- connections --------------------------------------------------------------

    async def _connection_for(
        self, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> Connection:
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

    def _take_idle(self, origin: Origin) -> Connection | None:
        """An idle connection to ``origin`` still fit for a request, closing stale ones."""
        connections = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while connections:
            connection = connections.pop()
            if now - connection.idle_since <= self._keepalive and connection.reusable():
                return connection
            self.connection_closed(connection)
        return None

    async def _reserve(
        self, request: httpx.Request, origin: Origin, pool_timeout: float | None
    ) -> Connection | None:
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
                await within(waiter, pool_timeout)
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
                self.connection_closed(connections.pop(0))
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
    ) -> Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        server_name = None
        if context is not None:
            sni = request.extensions.get("sni_hostname")
            server_name = sni.decode("ascii") if isinstance(sni, bytes) else (sni or host)
        try:
            reader, writer = await within(
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
        return Connection(self, origin, reader, writer, self._generation)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # Made on first https use: loading the CA bundle takes tens of milliseconds.
            self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl

    def connection_released(self, connection: Connection) -> None:
        """``connection``'s response was read to its end: keep it for the next request."""
        if self._loop is not asyncio.get_running_loop():  # pragma: no cover - defensive
            connection.close()
            return
        connection.idle_since = self._loop.time()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._wake()

    def connection_closed(self, connection: Connection) -> None:
        """``connection`` cannot carry another request: close it and free its place."""
        connection.close()
        if connection.generation == self._generation:
            connection.generation = -1  # counted out once
            self._forget()

    def _forget(self) -> None:
        """One connection fewer is open: a request waiting for room may go."""
        self._open -= 1
        self._wake()
