"""Client CPU per streamed chunk at 200 concurrent streams: our ``Gateway`` against its floor.

A small HTTP/1.1 keep-alive server (``sse_server.py``) runs in its own process (its
CPU is not counted) and answers ``POST /v1/chat/completions`` in AllToken's wire
format: role chunk, N content chunks, finish chunk, usage chunk, ``data: [DONE]``,
then the cost comment.
``max_tokens`` picks N; the ``x-bench-pace`` header (ms) spaces the content chunks
out, one socket write each ("paced", as a model streams), else the body goes out in
a few large writes ("burst"). The server counts the TCP connections it accepts.

Clients, each given the same work and the same settings:

- ``aiohttp``: a bare ``aiohttp.ClientSession`` reading lines, ``json.loads`` per
  ``data:`` line (the floor);
- ``httpx``: a bare ``httpx.AsyncClient`` on its default transport (httpcore),
  ``aiter_lines`` and ``json.loads``;
- ``httpx-aiohttp``: the same bare httpx client on our aiohttp transport (what the
  httpx layer costs on top of aiohttp), when it is installed;
- ``ours``: ``alltoken_agent.Gateway.stream`` as a user would call it.

Every client reads each stream to its end, the cost comment after ``[DONE]``
included (the baselines parse it too), with the same pool size (1000 connections),
keep-alive expiry and connect and read timeouts (the config's defaults), and the
garbage collector left on. Each timed round is
preceded by an uncounted round of the same work on the same client, so the pool
is warm; clients take turns round by round in rotating order. CPU is
``time.process_time()`` around the round; first token is the time from a stream's
start to its first content delta, per stream; new connections are those the
server accepted during the timed round, per stream. Ratios are against aiohttp,
per round, then the median.

Run ``python bench/stream_overhead.py`` (about 2 minutes on 2 busy cores);
``--quick`` for a smoke run; ``-v`` for every round; ``--profile`` for a cProfile
of our Gateway in the paced scenario. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sse_server import BenchServer, raise_file_limit

MESSAGES = [{"role": "user", "content": "hi"}]
MODEL = "bench"
API_KEY = "bench-key-0123456789"
TOKEN = "tok "
MAX_CONNECTIONS = 1000
KEEPALIVE = 30.0
CONNECT_TIMEOUT, READ_TIMEOUT, WRITE_TIMEOUT, POOL_TIMEOUT = 10.0, 60.0, 30.0, 30.0
"""Every client's timeouts: the config's ``[timeouts]`` defaults, which ours runs with."""
"""Seconds an idle pooled connection is kept, for every client (ours via its config)."""

TARGET_CPU = 1.3
TARGET_FIRST_TOKEN = 2.0
TARGET_CONNECTIONS = 0.05


# -- the clients ---------------------------------------------------------------


def request_body(n: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": n,
    }


def bench_headers(pace_ms: float, hold: bool = False) -> dict[str, str]:
    headers = {"x-bench-pace": f"{pace_ms:g}"} if pace_ms else {}
    if hold:
        headers["x-bench-hold"] = "1"
    return headers


class BenchClient(Protocol):
    name: str

    async def stream(self, n: int, pace_ms: float) -> float | None:
        """Read one stream to its end; return when its first content delta arrived."""
        ...

    async def aclose(self) -> None: ...


def _parse_line(line: str, first: float | None) -> float | None:
    """The baselines' per-line work: parse every ``data:`` payload and the cost comment."""
    if line.startswith("data: "):
        data = line[6:]
        if data != "[DONE]":
            chunk = json.loads(data)
            if first is None:
                for choice in chunk["choices"]:
                    if choice["delta"].get("content"):
                        return time.perf_counter()
    elif line.startswith(": {"):
        json.loads(line[2:])
    return first


class AiohttpClient:
    """The floor: one ``aiohttp.ClientSession``, lines and ``json.loads``."""

    name = "aiohttp"

    def __init__(self, url: str) -> None:
        self.url = url + "/v1/chat/completions"
        self.session: Any = None

    async def stream(self, n: int, pace_ms: float) -> float | None:
        import aiohttp

        if self.session is None:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE)
            # A read timeout between two reads, as ours and httpx keep (aiohttp's
            # default has none, and rescheduling it costs a timer per read).
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=timeout,
            )
        first = None
        async with self.session.post(
            self.url, json=request_body(n), headers=bench_headers(pace_ms)
        ) as response:
            async for raw in response.content:
                first = _parse_line(raw.decode().rstrip("\n"), first)
        return first

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


class HttpxClient:
    """A bare ``httpx.AsyncClient`` on httpx's own transport (httpcore)."""

    name = "httpx"

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url + "/v1/chat/completions"
        self.client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {API_KEY}"},
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS,
                max_keepalive_connections=MAX_CONNECTIONS,
                keepalive_expiry=KEEPALIVE,
            ),
            timeout=httpx.Timeout(
                connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
            ),
            transport=self.transport(),
        )

    def transport(self) -> Any:
        return None

    async def stream(self, n: int, pace_ms: float) -> float | None:
        first = None
        async with self.client.stream(
            "POST", self.url, json=request_body(n), headers=bench_headers(pace_ms)
        ) as response:
            async for line in response.aiter_lines():
                first = _parse_line(line, first)
        return first

    async def aclose(self) -> None:
        await self.client.aclose()


class HttpxAiohttpClient(HttpxClient):
    """The same bare httpx client on the aiohttp transport our Gateway uses."""

    name = "httpx-aiohttp"

    def transport(self) -> Any:
        from alltoken_agent.gateway._pool import AiohttpPool

        return AiohttpPool(max_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE)


class Ours:
    """``alltoken_agent.Gateway``: stream as a user of the package would."""

    name = "ours"

    def __init__(self, url: str) -> None:
        from alltoken_agent import Gateway, Provider
        from alltoken_agent.config import Config

        provider = Provider(
            name="bench", base_url=url + "/v1", api_key_env=None, dialect="alltoken"
        )
        config = Config()
        http = getattr(config, "http", None)
        if http is not None:  # the pool settings every client here shares
            config = config.model_copy(
                update={
                    "http": http.model_copy(
                        update={"max_connections": MAX_CONNECTIONS, "keepalive_expiry": KEEPALIVE}
                    )
                }
            )
        self.gateway = Gateway(provider, api_key=API_KEY, model=MODEL, config=config)

    async def stream(self, n: int, pace_ms: float) -> float | None:
        from alltoken_agent.gateway.types import ContentDelta

        first = None
        async with self.gateway.stream(
            MESSAGES, max_tokens=n, extra_headers=bench_headers(pace_ms)
        ) as s:
            async for event in s:
                if first is None and type(event) is ContentDelta:
                    first = time.perf_counter()
        if s.result.cost is None:
            raise AssertionError("ours: the cost comment after [DONE] was not read")
        return first

    async def aclose(self) -> None:
        await self.gateway.aclose()


def client_types() -> list[type[BenchClient]]:
    kinds: list[type[BenchClient]] = [AiohttpClient, HttpxClient]
    try:
        import alltoken_agent.gateway._pool  # noqa: F401
    except ImportError:
        pass
    else:
        kinds.append(HttpxAiohttpClient)
    kinds.append(Ours)
    return kinds


# -- measuring -------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    title: str
    streams: int
    chunks: int
    pace_ms: float
    rounds: int
    cpu: dict[str, list[float]] = field(default_factory=dict)
    """Client CPU µs per content chunk, one value per counted round."""
    first: dict[str, list[float]] = field(default_factory=dict)
    """Milliseconds from a stream's start to its first content delta, every stream."""
    first_p50: dict[str, list[float]] = field(default_factory=dict)
    dialled: dict[str, list[int]] = field(default_factory=dict)
    """TCP connections the server accepted during each timed round."""


async def one_round(client: BenchClient, scenario: Scenario) -> tuple[float, list[float]]:
    """Client CPU seconds of one round, and each stream's first-token time in ms."""

    async def one() -> float:
        start = time.perf_counter()
        first = await client.stream(scenario.chunks, scenario.pace_ms)
        if first is None:
            raise AssertionError(f"{client.name}: a stream brought no content")
        return (first - start) * 1000

    cpu = time.process_time()
    firsts = await asyncio.gather(*(one() for _ in range(scenario.streams)))
    return time.process_time() - cpu, list(firsts)


async def run_scenario(
    scenario: Scenario, clients: Sequence[BenchClient], server: BenchServer
) -> None:
    for client in clients:
        for table in (scenario.cpu, scenario.first, scenario.first_p50, scenario.dialled):
            table[client.name] = []
    units = scenario.streams * scenario.chunks
    for round_no in range(scenario.rounds):
        shift = round_no % len(clients)
        for client in [*clients[shift:], *clients[:shift]]:
            await one_round(client, scenario)  # warms the pool with the same work
            await asyncio.sleep(0.05)  # the server counts the last accept
            before = server.connections
            cpu, firsts = await one_round(client, scenario)
            await asyncio.sleep(0.05)
            scenario.cpu[client.name].append(cpu * 1e6 / units)
            scenario.first[client.name] += firsts
            scenario.first_p50[client.name].append(statistics.median(firsts))
            scenario.dialled[client.name].append(server.connections - before)


async def check_complete(clients: Sequence[BenchClient]) -> None:
    """Every client reads a whole stream once, before anything is timed."""
    for client in clients:
        if await client.stream(3, 0) is None:
            raise AssertionError(f"{client.name}: no content")


@dataclass
class Settings:
    streams: int = 200
    paced_chunks: int = 50
    pace_ms: float = 20.0
    burst_chunks: int = 100
    rounds: int = 5


def scenarios(s: Settings) -> list[Scenario]:
    return [
        Scenario(
            "paced",
            f"{s.streams} paced streams × {s.paced_chunks} chunks, {s.pace_ms:g} ms apart",
            s.streams,
            s.paced_chunks,
            s.pace_ms,
            s.rounds,
        ),
        Scenario(
            "burst",
            f"{s.streams} burst streams × {s.burst_chunks} chunks",
            s.streams,
            s.burst_chunks,
            0.0,
            s.rounds,
        ),
    ]


def ratio(values: dict[str, list[float]], name: str, base: str = "aiohttp") -> float:
    pairs = zip(values[name], values[base], strict=True)
    return statistics.median(a / b for a, b in pairs)


# -- reporting -------------------------------------------------------------------


def report(
    results: Sequence[Scenario], names: Sequence[str], elapsed: float, verbose: bool
) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    for s in results:
        print(f"\n== {s.title}, warm pool, {s.rounds} counted rounds ==")
        print(
            f"{'client':>14} {'CPU µs/chunk':>14} {'vs aiohttp':>10} {'1st token p50 ms':>17}"
            f" {'vs aiohttp':>10} {'max ms':>8} {'new conn/stream':>16}"
        )
        for name in names:
            cpu = statistics.median(s.cpu[name])
            p50 = statistics.median(s.first_p50[name])
            dialled = sum(s.dialled[name]) / (s.streams * s.rounds)
            print(
                f"{name:>14} {cpu:>14.1f} {ratio(s.cpu, name):>9.2f}× {p50:>17.1f}"
                f" {ratio(s.first_p50, name):>9.2f}× {max(s.first[name]):>8.0f}"
                f" {dialled:>16.3f}"
            )
            if verbose:
                print(
                    f"{'':>14} cpu {' '.join(f'{v:.1f}' for v in s.cpu[name])}"
                    f" | p50 {' '.join(f'{v:.0f}' for v in s.first_p50[name])}"
                    f" | dialled {' '.join(str(v) for v in s.dialled[name])}"
                )
        if "ours" in names:
            cpu_ratio = ratio(s.cpu, "ours")
            first_ratio = ratio(s.first_p50, "ours")
            dialled = sum(s.dialled["ours"]) / (s.streams * s.rounds)
            checks += [
                (f"{s.key} CPU/chunk {cpu_ratio:.2f}× (≤ {TARGET_CPU}×)", cpu_ratio <= TARGET_CPU),
                (
                    f"{s.key} first token p50 {first_ratio:.2f}× (≤ {TARGET_FIRST_TOKEN}×)",
                    first_ratio <= TARGET_FIRST_TOKEN,
                ),
                (
                    f"{s.key} new connections/stream {dialled:.3f} (≤ {TARGET_CONNECTIONS})",
                    dialled <= TARGET_CONNECTIONS,
                ),
            ]
    print(f"\n{elapsed:.1f} s, Python {sys.version.split()[0]}")
    print(
        "VERDICT (ours vs aiohttp): "
        + "; ".join(f"{'PASS' if ok else 'FAIL'} {t}" for t, ok in checks)
    )
    return checks


# -- profiling -------------------------------------------------------------------


async def profile_ours(server: BenchServer, settings: Settings, top: int) -> None:
    """cProfile of our Gateway over a few warm paced and burst rounds."""
    client = Ours(server.url)
    try:
        for scenario in scenarios(settings):
            await one_round(client, scenario)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(2):
                await one_round(client, scenario)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
            print(f"== ours, {scenario.title}: 2 warm rounds; top {top} by own time ==")
            print(out.getvalue())
    finally:
        await client.aclose()


# -- main ------------------------------------------------------------------------


async def bench(server: BenchServer, settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    kinds = client_types()
    names = [kind.name for kind in kinds]
    results = scenarios(settings)
    for scenario in results:
        clients = [kind(server.url) for kind in kinds]
        try:
            await check_complete(clients)
            await run_scenario(scenario, clients, server)
        finally:
            for client in clients:
                await client.aclose()
    report(results, names, time.perf_counter() - started, args.verbose)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="counted rounds per scenario (default 5)")
    parser.add_argument("--streams", type=int, help="concurrent streams (default 200)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of smaller streams")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every round")
    parser.add_argument("--profile", action="store_true", help="cProfile our Gateway instead")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings()
    if args.quick:
        settings = Settings(paced_chunks=20, burst_chunks=50, rounds=2)
    if args.rounds:
        settings.rounds = args.rounds
    if args.streams:
        settings.streams = args.streams
    raise_file_limit()
    server = BenchServer()
    server.start()
    try:
        if args.profile:
            asyncio.run(profile_ours(server, settings, args.top))
        else:
            asyncio.run(bench(server, settings, args))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
