"""The gateway's connection pool (gateway/_pool.py): reuse, its cap, and its failures.

These need a server that counts the TCP connections it accepts and holds them open
on demand, which the simulator does not do, so a small one is started here (real
loopback HTTP all the same).
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from alltoken_agent import Gateway
from alltoken_agent.config import Config, HttpSettings, TimeoutSettings
from alltoken_agent.errors import (
    ConfigError,
    GatewayConnectionError,
    GatewayTimeoutError,
    StreamInterruptedError,
)
from alltoken_agent.gateway._pool import AiohttpPool
from tests.gateway.helpers import TEST_KEY, asyncio_transport_gateway, gateway_for, user

_CHUNK = 'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n'
_END = (
    'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,'
    '"total_tokens":3}}\n\ndata: [DONE]\n\n: {"cost":"0.000001"}\n\n'
)


@dataclass
class CountingServer:
    """Streams ``ab`` as two content chunks; counts connections; holds streams on request.

    A request whose last message says ``hold`` gets its headers and first chunk,
    then waits for ``release`` before the rest.
    """

    base_url: str = ""
    accepted: int = 0
    open_now: int = 0
    peak: int = 0
    closed: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open_now += 1
        self.peak = max(self.peak, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                hold = body["messages"][-1]["content"] == "hold"
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n" + _framed(_CHUNK % "a")
                )
                await writer.drain()
                if hold:
                    self.held += 1
                    # Until released, or until the client hangs up (EOF: b"").
                    hangup = asyncio.ensure_future(reader.read(1))
                    release = asyncio.ensure_future(self.release.wait())
                    await asyncio.wait({hangup, release}, return_when=asyncio.FIRST_COMPLETED)
                    release.cancel()
                    if hangup.done():
                        return
                    hangup.cancel()
                    await asyncio.wait({hangup})  # the reader is free again
                writer.write(_framed(_CHUNK % "b" + _END) + b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            self.closed += 1
            writer.close()


def _framed(text: str) -> bytes:
    data = text.encode()
    return b"%x\r\n%b\r\n" % (len(data), data)


@asynccontextmanager
async def counting_server() -> AsyncIterator[CountingServer]:
    state = CountingServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    try:
        yield state
    finally:
        state.release.set()
        server.close()
        await server.wait_closed()


async def until(predicate: Any) -> None:
    """Wait (without a deadline of our own; pytest's timeout ends a hang) for ``predicate()``."""
    while not predicate():
        await asyncio.sleep(0.01)


def pool_config(**http: Any) -> Config:
    return Config(http=HttpSettings(**http))


# -- reuse ---------------------------------------------------------------------


async def test_sequential_streams_reuse_one_connection() -> None:
    async with counting_server() as server, gateway_for(server) as gateway:
        for _ in range(5):
            result = await gateway.stream(user("hi")).collect()
            assert result.text == "ab" and result.cost is not None
        assert server.accepted == 1


@pytest.mark.slow
async def test_a_warm_pool_serves_a_second_burst_of_concurrent_streams_without_dialling() -> None:
    # httpx's own pool kept 20 idle connections of 50, so the second burst dialled 30.
    async with counting_server() as server, gateway_for(server) as gateway:

        async def burst() -> list[str]:
            results = await asyncio.gather(
                *(gateway.stream(user("hold")).collect() for _ in range(50)),
                _release_when_held(server, 50),
            )
            return [r.text for r in results[:-1]]

        assert await burst() == ["ab"] * 50
        assert server.accepted == 50
        assert await burst() == ["ab"] * 50
        assert server.accepted == 50


async def _release_when_held(server: CountingServer, count: int) -> None:
    await until(lambda: server.held >= count)
    server.release.set()
    server.held = 0
    await asyncio.sleep(0)
    server.release = asyncio.Event()


# -- the cap ---------------------------------------------------------------------


async def test_the_http_max_connections_setting_caps_the_open_connections() -> None:
    async with (
        counting_server() as server,
        gateway_for(server, config=pool_config(max_connections=2)) as gateway,
    ):
        streams = [asyncio.ensure_future(gateway.stream(user("hold")).collect()) for _ in range(5)]
        await until(lambda: server.held >= 2)
        await asyncio.sleep(0.1)  # room for a third connection, were there no cap
        assert server.open_now == 2
        server.release.set()
        results = await asyncio.gather(*streams)
    assert [r.text for r in results] == ["ab"] * 5
    assert server.peak == 2 and server.accepted == 2


def test_the_http_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        HttpSettings(max_connections=0)
    assert HttpSettings().max_connections == 1000


def test_the_http_section_is_read_from_the_config_file(tmp_path: Any) -> None:
    from alltoken_agent.config import load_config

    path = tmp_path / "config.toml"
    path.write_text("[http]\nmax_connections = 7\nkeepalive_expiry = 3.5\n")
    config = load_config(path)
    assert (config.http.max_connections, config.http.keepalive_expiry) == (7, 3.5)
    path.write_text("[http]\nmax_conections = 7\n")
    with pytest.raises(ConfigError, match="max_conections"):
        load_config(path)


# -- closing -------------------------------------------------------------------

BOTH_TRANSPORTS = pytest.mark.parametrize(
    "make", [gateway_for, asyncio_transport_gateway], ids=["pool", "asyncio-transport"]
)
"""The default pool and the CLI's one-at-a-time transport close alike."""


@BOTH_TRANSPORTS
async def test_a_stream_left_early_closes_its_connection_instead_of_pooling_it(make: Any) -> None:
    async with counting_server() as server, make(server) as gateway:
        async with gateway.stream(user("hold")) as stream:
            async for _ in stream:
                break
        await until(lambda: server.closed == 1)
        # The next request cannot be handed the half-read connection.
        assert (await gateway.stream(user("hi")).collect()).text == "ab"
        assert server.accepted == 2


@BOTH_TRANSPORTS
async def test_a_cancelled_stream_closes_its_connection(make: Any) -> None:
    async with counting_server() as server, make(server) as gateway:

        async def read() -> None:
            async with gateway.stream(user("hold")) as stream:
                async for _ in stream:
                    pass

        task = asyncio.ensure_future(read())
        await until(lambda: server.held == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: server.closed == 1)
        assert server.open_now == 0


@BOTH_TRANSPORTS
async def test_closing_the_gateway_closes_its_idle_connections(make: Any) -> None:
    async with counting_server() as server:
        gateway = make(server)
        await gateway.stream(user("hi")).collect()
        assert server.open_now == 1
        await gateway.aclose()
        await until(lambda: server.open_now == 0)


def test_a_gateway_keeps_working_on_a_second_event_loop(sim: Any) -> None:
    # The pool is opened per event loop: a gateway outlives an asyncio.run (httpx's own
    # pool raised "Event loop is closed" here).
    gateway = gateway_for(sim)
    with warnings.catch_warnings():
        # The first loop's sockets can no longer be closed through it; the collector
        # closes them, with a ResourceWarning (as it does for httpx's own pool).
        warnings.simplefilter("ignore", ResourceWarning)
        first = asyncio.run(_collect(gateway))
        second = asyncio.run(_collect(gateway))
        asyncio.run(gateway.aclose())
        gc.collect()
    assert first == second and "simulated" in first.lower()


async def _collect(gateway: Gateway) -> str:
    return (await gateway.stream(user("hi")).collect()).text


# -- failures, as httpx names them ---------------------------------------------


@asynccontextmanager
async def raw_server(answer: bytes | None, *, close: bool = True) -> AsyncIterator[str]:
    """Answers the first request with ``answer`` (None: nothing), then closes or waits."""
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if answer is not None:
                writer.write(answer)
                await writer.drain()
            if not close:
                await done.wait()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        done.set()
        server.close()
        await server.wait_closed()


async def _get(url: str, read: float = 5.0) -> bytes:
    async with httpx.AsyncClient(transport=AiohttpPool()) as client:
        response = await client.get(url, timeout=httpx.Timeout(5.0, read=read))
        return response.content


async def test_a_refused_connection_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(httpx.ConnectError) as caught:
        await _get(f"http://127.0.0.1:{port}/")
    assert not isinstance(caught.value, httpx.TimeoutException)
    assert caught.value.__cause__ is None  # no aiohttp object (nor its headers) rides along


async def test_a_server_that_hangs_up_without_a_reply_is_a_remote_protocol_error() -> None:
    async with raw_server(None) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await _get(url)


async def test_a_garbled_status_line_is_a_remote_protocol_error() -> None:
    async with raw_server(b"HTTP/1.1 abc nonsense\r\n\r\n") as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await _get(url)


async def test_a_body_cut_short_is_a_remote_protocol_error() -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"
    async with raw_server(answer) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await _get(url)


async def test_a_silent_server_is_a_read_timeout() -> None:
    async with raw_server(None, close=False) as url:
        with pytest.raises(httpx.ReadTimeout):
            await _get(url, read=0.2)


async def test_a_redirect_is_handed_back_not_followed() -> None:
    answer = (
        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://example.invalid/\r\n"
        b"content-length: 0\r\n\r\n"
    )
    async with raw_server(answer) as url:
        async with httpx.AsyncClient(transport=AiohttpPool()) as client:
            response = await client.get(url)
    assert response.status_code == 307


@pytest.mark.slow
async def test_the_gateway_translates_pool_failures_into_its_errors() -> None:
    async with raw_server(None) as url:
        gateway = Gateway(base_url=url + "v1", api_key=TEST_KEY, retry=_no_retry(), config=Config())
        async with gateway:
            with pytest.raises(GatewayConnectionError):
                await gateway.chat(user("hi"))
    async with raw_server(None, close=False) as url:
        timeouts = TimeoutSettings(read=0.2, idle=None, total=None)
        gateway = Gateway(
            base_url=url + "v1", api_key=TEST_KEY, retry=_no_retry(), timeout=timeouts
        )
        async with gateway:
            with pytest.raises(GatewayTimeoutError):
                await gateway.chat(user("hi"))
    cut = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 1000\r\n\r\n"
        + (_CHUNK % "a").encode()
    )
    async with raw_server(cut) as url:
        gateway = Gateway(base_url=url + "v1", api_key=TEST_KEY, retry=_no_retry())
        async with gateway:
            with pytest.raises(StreamInterruptedError) as caught:
                await gateway.stream(user("hi")).collect()
    assert caught.value.partial_text == "a"


def _no_retry() -> Any:
    from alltoken_agent.gateway import RetryPolicy

    return RetryPolicy(max_retries=0)


# -- a transport of the caller's -------------------------------------------------


async def test_a_gateway_takes_an_httpx_transport_such_as_mock_transport() -> None:
    seen: list[httpx.Request] = []
    body = (_CHUNK % "odd bytes " + _CHUNK % TEST_KEY + _END).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"content-type": "text/event-stream", "x-gateway-request-id": f"r-{TEST_KEY}"}
        return httpx.Response(200, headers=headers, content=body)

    gateway = Gateway(
        base_url="http://gateway.test/v1", api_key=TEST_KEY, transport=httpx.MockTransport(answer)
    )
    async with gateway:
        stream = gateway.stream(user("hi"), model="m")
        result = await stream.collect()
    assert result.text == "odd bytes ***"
    # The inbound redaction hook ran on the mock's reply too.
    assert stream.request_id is not None and TEST_KEY not in stream.request_id
    assert str(seen[0].url) == "http://gateway.test/v1/chat/completions"
    assert seen[0].headers["authorization"] == f"Bearer {TEST_KEY}"
