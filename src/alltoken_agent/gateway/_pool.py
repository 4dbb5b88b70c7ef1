"""The gateway's connection pool: httpx requests carried by aiohttp's connector.

Why not httpx's own transport: httpcore's pool looks through its connections on
every request and every release, so its cost grows with the square of the pool;
at 200 concurrent streams that bookkeeping cost several times the work of
reading the streams (bench/stream_overhead.py). aiohttp's connector keeps idle
connections per host in a list it pops from, whatever the pool's size.

Everything above the transport stays httpx: requests are built, event hooks run,
redirects are decided and bodies decoded by ``httpx.AsyncClient``; this module
only carries bytes. aiohttp's exceptions never leave it: ``_translated`` turns
each into the httpx exception httpx's own transport raises for the same failure,
which is what ``_transport.translate`` and the stream already handle.

The ``httpx-aiohttp`` package does the same job; we do not use it because its
0.2.0 maps a refused connection and a server that hangs up to ``ConnectTimeout``
and lets aiohttp's parse errors through unmapped, and it binds its session to the
first event loop it sees.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    # Imported on the first request instead: aiohttp takes as long to import as httpx,
    # and a command that never sends a request should not pay for it.
    import aiohttp

MAX_HEADER_BYTES = 64 * 1024
"""Longest response header line aiohttp accepts (its default is 8 KiB; httpcore's ~100 KiB)."""


class AiohttpPool(httpx.AsyncBaseTransport):
    """An ``httpx`` transport on one ``aiohttp`` connector per event loop.

    ``max_connections`` caps the open connections (in use and idle) of the whole
    pool, None for no cap; a request beyond it waits for one, at most the request's
    ``pool`` timeout. Idle connections are closed after ``keepalive_expiry`` seconds.
    Only HTTP/1.1; proxies from the environment are left to httpx, which mounts its
    own transport for them.
    """

    def __init__(
        self,
        *,
        max_connections: int | None = 1000,
        keepalive_expiry: float = 5.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limit = max_connections or 0  # aiohttp: 0 is no cap
        self._keepalive = keepalive_expiry
        self._verify = verify
        self._ssl: ssl.SSLContext | bool | None = None
        """Made on first use: loading the CA bundle takes tens of milliseconds."""
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    @property
    def max_connections(self) -> int | None:
        """The cap on open connections (None: none)."""
        return self._limit or None

    def _open(self) -> aiohttp.ClientSession:
        """The session of the running loop, opened on first use."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop:
            return session
        if session is not None:
            # Its loop is gone (a second asyncio.run): its connections went with it.
            _abandon(session)
        import aiohttp

        if self._ssl is None:
            verify = self._verify
            self._ssl = httpx.create_ssl_context(verify=verify) if verify is not False else False
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=0,
            keepalive_timeout=self._keepalive,
            ssl=self._ssl,
            # The system's getaddrinfo, as httpx uses, even where aiodns is installed
            # (which aiohttp would otherwise pick): /etc/hosts and the tests' guard apply.
            resolver=aiohttp.ThreadedResolver(),
        )
        self._session = session = aiohttp.ClientSession(
            connector=connector,
            # httpx does these itself: cookies, decompression, redirects, env proxies.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )
        self._loop = loop
        return session

    def _timeout(self, spec: dict[str, float | None]) -> aiohttp.ClientTimeout:
        """The aiohttp form of httpx's timeouts (cached: a gateway uses two or three)."""
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            import aiohttp

            connect, read, pool = key
            # aiohttp's ``connect`` spans waiting for a free slot and dialling.
            acquire = None if connect is None or pool is None else connect + pool
            timeout = aiohttp.ClientTimeout(
                total=None, connect=acquire, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response with its body still to read."""
        headers = request.headers
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # an async byte stream: aiohttp frames it itself
            headers = headers.copy()
            headers.pop("Transfer-Encoding", None)
        timeout = self.timeout_of(request)
        return await self.send(request, str(request.url), as_text(headers), data, timeout)

    def timeout_of(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        """The aiohttp timeouts of ``request`` (its httpx ``timeout`` extension)."""
        return self._timeout(request.extensions.get("timeout", {}))

    async def send(
        self,
        request: httpx.Request,
        url: str,
        headers: list[tuple[str, str]] | Mapping[str, str],
        data: Any,
        timeout: aiohttp.ClientTimeout,
    ) -> httpx.Response:
        """Send ``request`` as ``url``, ``headers`` and ``data`` (what httpx would send).

        ``request`` names the request in errors and gives its method and SNI name;
        its own headers and body are not read (``_prepared.py`` sends many bodies
        with one request object).
        """
        session = self._open()
        try:
            response = await session.request(
                request.method,
                url,
                headers=headers,
                data=data,
                allow_redirects=False,
                compress=None,
                timeout=timeout,
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except Exception as exc:
            mapped = _translated(exc, request)
            if mapped is None:
                raise
            raise mapped from None
        # httpx's defaults are HTTP/1.1 and the status's usual phrase: only another
        # phrase is kept with the response (one object less per open stream).
        reason, extensions = response.reason, None
        if reason and reason != httpx.codes.get_reason_phrase(response.status):
            extensions = {"reason_phrase": reason.encode("latin-1", "replace")}
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request, timeout.sock_read),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        """Close every connection of the pool."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            await session.close()
        else:
            _abandon(session)


class _Body(httpx.AsyncByteStream):
    """A response body as aiohttp reads it: each read hands over what has arrived.

    The read timeout (``sock_read``, the bytes may pause no longer) is kept here for
    the body, not by aiohttp: aiohttp cancels and re-arms a timer on every packet,
    which at hundreds of paced streams was a tenth of the loop's work. This one timer
    per body is armed when a read waits and re-armed only when it fires early, and
    a read that has waited ``sock_read`` seconds without a byte arriving fails as
    aiohttp's own timer makes it fail (``httpx.ReadTimeout``), so every caller sees
    the same error. The response's head keeps aiohttp's timer.
    """

    __slots__ = (
        "_arrived",
        "_gap",
        "_handle",
        "_loop",
        "_request",
        "_response",
        "_seen",
        "_waiting",
    )

    def __init__(
        self, response: aiohttp.ClientResponse, request: httpx.Request, gap: float | None
    ) -> None:
        self._response = response
        self._request = request
        self._gap = gap or None
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = False
        self._arrived = 0.0
        """When the last read returned (event-loop time): the body's last sign of life."""
        self._seen = 0
        """The body's bytes received by then (aiohttp's ``total_bytes``)."""
        if self._gap is not None:
            connection = response.connection
            if connection is not None and connection.protocol is not None:
                # aiohttp's per-packet timer stops here; its head timer is cancelled with it.
                connection.protocol.read_timeout = None
                connection.protocol.start_timeout()
            self._loop = loop = asyncio.get_running_loop()
            self._arrived = loop.time()
            self._seen = response.content.total_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        read = self.read
        while True:
            chunk = await read()
            if not chunk:
                return
            yield chunk

    async def read(self) -> bytes:
        """What has arrived of the body (waiting for something); b"" at its end."""
        content = self._response.content
        loop = self._loop
        if loop is None:  # no read timeout
            try:
                return await content.readany()
            except Exception as exc:
                raise self._mapped(exc) from None
        if self._handle is None:
            self._handle = loop.call_at(self._arrived + (self._gap or 0.0), self._check)
        self._waiting = True
        try:
            data = await content.readany()
        except Exception as exc:
            raise self._mapped(exc) from None
        finally:
            self._waiting = False
        self._arrived = loop.time()
        self._seen = content.total_bytes
        return data

    def _mapped(self, exc: Exception) -> Exception:
        mapped = _translated(exc, self._request)
        return exc if mapped is None else mapped

    def _check(self) -> None:
        """The read timer: fail a read left waiting ``sock_read`` seconds without a byte."""
        self._handle = None
        content = self._response.content
        loop = self._loop
        if not self._waiting or loop is None or content.is_eof() or content.exception():
            return  # nobody waits, or the wait is over: the next read arms the timer again
        gap = self._gap or 0.0
        now = loop.time()
        if content.total_bytes != self._seen:
            # Bytes came in this very turn of the loop; the waiting read has yet to run.
            self._arrived, self._seen = now, content.total_bytes
        if now < self._arrived + gap:
            self._handle = loop.call_at(self._arrived + gap, self._check)
            return
        import aiohttp

        # What aiohttp's own timer puts on the body, so the read fails the same way.
        content.set_exception(aiohttp.SocketTimeoutError("Timeout on reading data from socket"))

    async def aclose(self) -> None:
        """Hand the connection back when the body was read to its end, else close it."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        response = self._response
        if response.content.at_eof():
            response.release()
        else:
            response.close()


def direct_reader(response: httpx.Response) -> Callable[[], Awaitable[bytes]] | None:
    """The body's reads straight from aiohttp, for a loop that runs once per network read.

    httpx hands a streamed body through four generator layers (``aiter_bytes``,
    ``aiter_raw``, its bound stream, ours), which at hundreds of streams cost more
    than the rest of the per-read work. Only for a body this pool carries that
    httpx would pass on unchanged: None when the response came another way, has a
    ``Content-Encoding`` (httpx decodes it) or was read already. The caller takes
    the body over (``is_stream_consumed``) and closes the response at its end;
    httpx's ``num_bytes_downloaded`` is not counted.
    """
    body: Any = response.stream
    if type(body) is not _Body:  # httpx's BoundAsyncStream wraps ours
        body = getattr(body, "_stream", None)
    if (
        type(body) is not _Body
        or response.is_stream_consumed
        or response.is_closed
        or "content-encoding" in response.headers
    ):
        return None
    response.is_stream_consumed = True
    return body.read


def as_text(headers: httpx.Headers) -> list[tuple[str, str]]:
    """The headers as aiohttp takes them (``multi_items`` re-checks the encoding per item)."""
    encoding = headers.encoding
    return [(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw]


def _translated(exc: BaseException, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx exception for an aiohttp one (None: not a transport failure).

    Classes as httpx's own transport raises them for the same failure; the message
    is aiohttp's (our callers redact it). The aiohttp exception is not chained: some
    hold the request's headers, which carry the key.
    """
    import aiohttp

    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        # A reply cut short (no status line, or a body that stopped early).
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError  # a status line or header aiohttp cannot parse
    elif isinstance(exc, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, (aiohttp.ClientConnectionError, OSError)):
        kind = httpx.ReadError
    elif isinstance(exc, aiohttp.ClientError):
        kind = httpx.RemoteProtocolError
    else:
        return None
    return kind(_message(exc), request=request)


def _message(exc: BaseException) -> str:
    import aiohttp

    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.message or type(exc).__name__  # its str() names the URL and headers
    return str(exc) or type(exc).__name__


def _abandon(session: aiohttp.ClientSession) -> None:
    """Let go of a session whose event loop is gone, without awaiting on that loop."""
    connector = session.connector
    session.detach()
    if connector is not None:
        try:
            connector._close()  # sync; closes its sockets
        except RuntimeError:  # the loop is closed: its sockets were closed with it
            pass
