"""Client CPU per streamed chunk: our ``Gateway`` against raw httpx + json and the openai SDK.

A minimal HTTP/1.1 keep-alive server, run in its own process so its CPU is not
counted, answers ``POST /v1/chat/completions`` with pre-rendered bytes in
AllToken's wire format (role chunk, N content chunks, finish chunk, usage chunk,
``[DONE]``, then the cost comment), chunked, in a few large writes. The client,
not the server, is the bottleneck. ``max_tokens`` in the request picks N.

Every round runs each client once, in a rotating order; the first round is a
warm-up and is not counted. Client CPU is ``time.process_time()`` around the
client work only, with the garbage collector collected before and off during
each timed section. Ratios are paired: per round ``ours/raw`` and
``openai/raw``, then the median of those.

The server also counts the TCP connections it accepts: per sequential streamed
request on a fresh client, and per timed section. The second count explains
scenario (b): a pooled connection left idle longer than httpx's 5 s keep-alive
expiry (the other clients' turns can take that long) is dropped and re-dialled.

Run ``python bench/stream_overhead.py``; ``--quick`` for a smoke run,
``--raw-drain`` to add raw httpx reading past ``[DONE]`` (so it reuses its
connections, as ours does), ``-v`` for every round, ``--profile`` for a
cProfile of our streaming path. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import multiprocessing
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MESSAGES = [{"role": "user", "content": "hi"}]
MODEL = "bench"
API_KEY = "bench-key"
TOKEN = "tok "
DEFAULT_CHUNKS = 200
WRITES_PER_BODY = 4
"""How many socket writes (and HTTP chunks) carry one SSE body."""
CONNECTION_REQUESTS = 20
POOL_LIMITS = {"max_connections": 1000, "max_keepalive_connections": 200}
"""The raw httpx baseline gets the same pool as our Gateway, so it never waits for a slot."""

TARGET_RATIO = 1.3
TARGET_CONNECTIONS = 0.1


# -- the server (runs in a child process) ------------------------------------

_PREFIX = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"bench",'
_COST_COMMENT = (
    b': {"cost":"0.0000188000","input_price":"0.0002000000","output_price":"0.0012500000",'
    b'"prompt_tokens":19,"completion_tokens":12}\n\n'
)


def _data(payload: str) -> bytes:
    return f"data: {payload}\n\n".encode()


def sse_body(n: int) -> bytes:
    """AllToken's stream for ``n`` content chunks, exactly as it crosses the wire."""
    role = _data(
        _PREFIX + '"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
        '"finish_reason":null}],"usage":null}'
    )
    content = _data(
        _PREFIX + '"choices":[{"index":0,"delta":{"content":"tok "},'
        '"finish_reason":null}],"usage":null}'
    )
    finish = _data(
        _PREFIX + '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}'
    )
    usage = _data(
        _PREFIX + f'"choices":[],"usage":{{"prompt_tokens":19,"completion_tokens":{n},'
        f'"total_tokens":{19 + n}}}}}'
    )
    return b"".join([role, content * n, finish, usage, b"data: [DONE]\n\n", _COST_COMMENT])


def _stream_response(n: int) -> list[bytes]:
    """The head plus the body cut into a few chunked-encoding frames, one write each."""
    body = sse_body(n)
    step = -(-len(body) // WRITES_PER_BODY)
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    frames = [head]
    for start in range(0, len(body), step):
        piece = body[start : start + step]
        frames.append(b"%x\r\n%b\r\n" % (len(piece), piece))
    frames[-1] += b"0\r\n\r\n"
    return frames


def _json_response(status: str, payload: bytes) -> list[bytes]:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n\r\n"
    ).encode()
    return [head + payload]


_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 19, "completion_tokens": 1, "total_tokens": 20},
    },
    separators=(",", ":"),
).encode()


async def _serve(port_out: Any, accepted: Any) -> None:
    cache: dict[int, list[bytes]] = {}
    completion = _json_response("200 OK", _COMPLETION)
    not_found = _json_response("404 Not Found", b'{"error":{"message":"not found"}}')

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.value += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if not head.startswith(b"POST /v1/chat/completions "):
                    frames = not_found
                else:
                    request = json.loads(body)
                    if request.get("stream"):
                        n = int(request.get("max_tokens") or DEFAULT_CHUNKS)
                        frames = cache.get(n) or cache.setdefault(n, _stream_response(n))
                    else:
                        frames = completion
                for frame in frames:
                    writer.write(frame)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port_out.send(server.sockets[0].getsockname()[1])
    port_out.close()
    async with server:
        await server.serve_forever()


def _server_main(port_out: Any, accepted: Any) -> None:
    asyncio.run(_serve(port_out, accepted))


@dataclass
class BenchServer:
    """The SSE server in a child process, with its count of accepted TCP connections."""

    process: Any = None
    accepted: Any = None
    url: str = ""

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        self.accepted = ctx.Value("q", 0, lock=False)
        self.process = ctx.Process(
            target=_server_main, args=(send, self.accepted), daemon=True, name="sse-server"
        )
        self.process.start()
        send.close()
        try:
            if not receive.poll(30):
                raise EOFError
            port = receive.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("the bench server did not start (see its traceback above)") from None
        self.url = f"http://127.0.0.1:{port}"

    @property
    def connections(self) -> int:
        return int(self.accepted.value)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.join(5)


# -- the clients ---------------------------------------------------------------


class BenchClient(Protocol):
    name: str

    async def stream(self, n: int) -> None: ...
    async def text(self, n: int) -> str: ...
    async def call(self) -> None: ...
    async def aclose(self) -> None: ...


class Ours:
    """``alltoken_agent.Gateway``: stream and chat as a user of the package would."""

    name = "ours"

    def __init__(self, url: str) -> None:
        from alltoken_agent import Gateway, Provider

        provider = Provider(
            name="bench",
            base_url=url + "/v1",
            api_key_env=None,
            dialect="alltoken",
            requires_key=False,
        )
        self.gateway = Gateway(provider, api_key=API_KEY, model=MODEL)

    async def stream(self, n: int) -> None:
        async with self.gateway.stream(MESSAGES, max_tokens=n) as s:
            async for _ in s:
                pass

    async def text(self, n: int) -> str:
        async with self.gateway.stream(MESSAGES, max_tokens=n) as s:
            async for _ in s:
                pass
        if s.result.cost is None:
            raise AssertionError("ours: the cost comment after [DONE] was not read")
        return s.result.text

    async def call(self) -> None:
        await self.gateway.chat(MESSAGES)

    async def aclose(self) -> None:
        await self.gateway.aclose()


class Raw:
    """The issue's baseline: one ``httpx.AsyncClient``, ``aiter_lines`` and ``json.loads``."""

    name = "raw"

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url + "/v1/chat/completions"
        self.client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {API_KEY}"}, limits=httpx.Limits(**POOL_LIMITS)
        )

    def _body(self, n: int) -> dict[str, Any]:
        return {
            "model": MODEL,
            "messages": MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": n,
        }

    async def stream(self, n: int) -> None:
        loads = json.loads
        async with self.client.stream("POST", self.url, json=self._body(n)) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    loads(data)

    async def text(self, n: int) -> str:
        parts = []
        async with self.client.stream("POST", self.url, json=self._body(n)) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    for choice in json.loads(data)["choices"]:
                        parts.append(choice["delta"].get("content") or "")
        return "".join(parts)

    async def call(self) -> None:
        r = await self.client.post(self.url, json={"model": MODEL, "messages": MESSAGES})
        r.json()

    async def aclose(self) -> None:
        await self.client.aclose()


class RawDrain(Raw):
    """Raw httpx that reads past ``[DONE]`` to the end, so its connection is reused."""

    name = "raw-drain"

    async def stream(self, n: int) -> None:
        loads = json.loads
        async with self.client.stream("POST", self.url, json=self._body(n)) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data != "[DONE]":
                        loads(data)


class OpenAISDK:
    """The official ``openai`` SDK (3.x, on httpx2)."""

    name = "openai"

    def __init__(self, url: str) -> None:
        import openai

        self.client = openai.AsyncOpenAI(api_key=API_KEY, base_url=url + "/v1", max_retries=0)

    async def _open(self, n: int) -> Any:
        return await self.client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=n,
        )

    async def stream(self, n: int) -> None:
        async for _ in await self._open(n):
            pass

    async def text(self, n: int) -> str:
        parts = []
        async for chunk in await self._open(n):
            for choice in chunk.choices:
                parts.append(choice.delta.content or "")
        return "".join(parts)

    async def call(self) -> None:
        await self.client.chat.completions.create(model=MODEL, messages=MESSAGES)

    async def aclose(self) -> None:
        await self.client.close()


class LiteLLM:
    """LiteLLM's ``acompletion`` against the same server (only when it is installed)."""

    name = "litellm"

    def __init__(self, url: str) -> None:
        import litellm

        self.litellm = litellm
        self.options = {"model": "openai/" + MODEL, "api_base": url + "/v1", "api_key": API_KEY}

    async def _open(self, n: int) -> Any:
        return await self.litellm.acompletion(
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=n,
            **self.options,
        )

    async def stream(self, n: int) -> None:
        async for _ in await self._open(n):
            pass

    async def text(self, n: int) -> str:
        parts = []
        async for chunk in await self._open(n):
            for choice in chunk.choices:
                parts.append(choice.delta.content or "")
        return "".join(parts)

    async def call(self) -> None:
        await self.litellm.acompletion(messages=MESSAGES, **self.options)

    async def aclose(self) -> None:
        pass


def client_types() -> list[type[BenchClient]]:
    kinds: list[type[BenchClient]] = [Ours, Raw, OpenAISDK]
    try:
        import litellm  # noqa: F401
    except ImportError:
        pass
    else:
        kinds.append(LiteLLM)
    return kinds


# -- measuring -------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    title: str
    unit: str
    rounds: int
    units: int
    """Chunks (or calls) per timed section, the divisor for the per-unit figure."""
    work: Callable[[BenchClient], Awaitable[None]]
    cpu: dict[str, list[float]] = field(default_factory=dict)
    """Client CPU µs per unit, one value per counted round."""
    wall: dict[str, list[float]] = field(default_factory=dict)
    dialled: dict[str, list[int]] = field(default_factory=dict)
    """TCP connections the server accepted during each timed section."""


async def timed(work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """CPU and wall seconds of ``work``, with the collector run before and off during it."""
    gc.collect()
    gc.disable()
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        await work()
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.enable()


async def run_scenario(
    scenario: Scenario, clients: Sequence[BenchClient], server: BenchServer
) -> None:
    for client in clients:
        scenario.cpu[client.name] = []
        scenario.wall[client.name] = []
        scenario.dialled[client.name] = []
    for round_no in range(scenario.rounds + 1):  # round 0 is the warm-up
        shift = round_no % len(clients)
        for client in [*clients[shift:], *clients[:shift]]:
            before = server.connections
            cpu, wall = await timed(lambda c=client: scenario.work(c))
            if round_no:
                scenario.cpu[client.name].append(cpu * 1e6 / scenario.units)
                scenario.wall[client.name].append(wall * 1e6 / scenario.units)
                scenario.dialled[client.name].append(server.connections - before)


async def check_complete(clients: Sequence[BenchClient], n: int) -> None:
    """Every client gets the whole stream once, before anything is timed."""
    for client in clients:
        text = await client.text(n)
        if text != TOKEN * n:
            raise AssertionError(f"{client.name}: got {len(text)} characters, not {len(TOKEN) * n}")


async def connections_per_request(server: BenchServer, kind: type[BenchClient]) -> int:
    """New TCP connections over sequential streamed requests on one fresh client object."""
    client = kind(server.url)
    try:
        before = server.connections
        for _ in range(CONNECTION_REQUESTS):
            await client.stream(DEFAULT_CHUNKS)
        # The counter is bumped in the server process when it accepts; give the last
        # accept a moment to land before reading it.
        await asyncio.sleep(0.05)
        return server.connections - before
    finally:
        await client.aclose()


@dataclass
class Settings:
    burst_chunks: int = 2000
    burst_rounds: int = 7
    streams: int = 200
    stream_chunks: int = 200
    concurrent_rounds: int = 5
    call_rounds: int = 10
    calls_per_round: int = 20


def scenarios(settings: Settings) -> list[Scenario]:
    s = settings

    async def burst(client: BenchClient) -> None:
        await client.stream(s.burst_chunks)

    async def concurrent(client: BenchClient) -> None:
        await asyncio.gather(*(client.stream(s.stream_chunks) for _ in range(s.streams)))

    async def calls(client: BenchClient) -> None:
        for _ in range(s.calls_per_round):
            await client.call()

    return [
        Scenario(
            "burst",
            f"(a) one {s.burst_chunks:,}-chunk stream",
            "µs/chunk",
            s.burst_rounds,
            s.burst_chunks,
            burst,
        ),
        Scenario(
            "concurrent",
            f"(b) {s.streams} concurrent × {s.stream_chunks} chunks",
            "µs/chunk",
            s.concurrent_rounds,
            s.streams * s.stream_chunks,
            concurrent,
        ),
        Scenario(
            "call",
            "(c) non-streaming call",
            "µs/call",
            s.call_rounds,
            s.calls_per_round,
            calls,
        ),
    ]


def paired_ratio(scenario: Scenario, name: str, base: str = "raw") -> float:
    pairs = zip(scenario.cpu[name], scenario.cpu[base], strict=True)
    return statistics.median(a / b for a, b in pairs)


# -- reporting -------------------------------------------------------------------


def _cell(values: Sequence[float]) -> str:
    return f"{statistics.median(values):,.2f} ({min(values):,.1f}–{max(values):,.1f})"


def report(
    results: Sequence[Scenario],
    names: Sequence[str],
    connections: dict[str, int],
    elapsed: float,
    verbose: bool,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    table = Table(
        title="Client CPU per unit: median (min–max) over counted rounds; ratios are the "
        "median of per-round ratios",
        title_justify="left",
    )
    table.add_column("scenario")
    table.add_column("unit")
    for name in names:
        table.add_column(name, justify="right")
    for name in names:
        if name != "raw":
            table.add_column(f"{name}/raw", justify="right")
    for scenario in results:
        row = [f"{scenario.title}, {scenario.rounds} rounds", scenario.unit]
        row += [_cell(scenario.cpu[name]) for name in names]
        row += [f"{paired_ratio(scenario, n):.2f}×" for n in names if n != "raw"]
        table.add_row(*row)
    console.print(table)

    conn = Table(title="New TCP connections accepted by the server", title_justify="left")
    conn.add_column("when")
    for name in names:
        conn.add_column(name, justify="right")
    conn.add_row(
        f"per sequential stream ({CONNECTION_REQUESTS} on a fresh client, first included)",
        *(f"{connections[n] / CONNECTION_REQUESTS:.2f} ({connections[n]})" for n in names),
    )
    for scenario in results:
        conn.add_row(
            f"per timed round of {scenario.title} (median)",
            *(f"{statistics.median(scenario.dialled[n]):g}" for n in names),
        )
    console.print(conn)

    if verbose:
        for scenario in results:
            for name in names:
                cpu = " ".join(f"{v:.2f}" for v in scenario.cpu[name])
                wall = " ".join(f"{v:.2f}" for v in scenario.wall[name])
                dialled = " ".join(str(v) for v in scenario.dialled[name])
                console.print(
                    f"{scenario.key:>10} {name:>9}  cpu {cpu}  |  wall {wall}  |  dialled {dialled}"
                )

    by_key = {s.key: s for s in results}
    burst = paired_ratio(by_key["burst"], "ours")
    concurrent = paired_ratio(by_key["concurrent"], "ours")
    per_request = connections["ours"] / CONNECTION_REQUESTS
    checks = [
        (f"burst CPU/chunk ours/raw {burst:.2f}× (≤ {TARGET_RATIO}×)", burst <= TARGET_RATIO),
        (
            f"concurrent CPU/chunk ours/raw {concurrent:.2f}× (≤ {TARGET_RATIO}×)",
            concurrent <= TARGET_RATIO,
        ),
        (
            f"new connections per sequential stream, ours {per_request:.2f} "
            f"(≤ {TARGET_CONNECTIONS})",
            per_request <= TARGET_CONNECTIONS,
        ),
    ]
    console.print(f"[dim]{elapsed:.1f} s, Python {sys.version.split()[0]}[/dim]")
    console.print(
        "VERDICT: " + "; ".join(f"{'PASS' if ok else 'FAIL'} {text}" for text, ok in checks),
        soft_wrap=True,
    )


# -- profiling -------------------------------------------------------------------


KEEPALIVE_EXPIRY = 5.0
"""httpx's default, which our Gateway keeps: idle pooled connections older than this are dropped."""


async def profile_ours(server: BenchServer, settings: Settings, top: int) -> None:
    """cProfile of our streaming path, in the pool states the scenarios run into.

    The burst; the concurrent scenario back to back on a settled pool; and the
    concurrent scenario after the pool sat idle past the keep-alive expiry, which is
    what an interleaved round meets when the other clients take longer than that.
    """
    client = Ours(server.url)
    n, streams = settings.stream_chunks, settings.streams

    async def burst() -> None:
        await client.stream(settings.burst_chunks)

    async def concurrent() -> None:
        await asyncio.gather(*(client.stream(n) for _ in range(streams)))

    async def after_idle() -> None:
        await asyncio.sleep(KEEPALIVE_EXPIRY + 0.5)

    async def profiled(title: str, work: Callable[[], Awaitable[None]], runs: int) -> None:
        before = server.connections
        profiler = cProfile.Profile()
        cpu = time.process_time()
        profiler.enable()
        for _ in range(runs):
            await work()
        profiler.disable()
        cpu = time.process_time() - cpu
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
        print(
            f"== ours, {title}: {runs} run(s), {cpu:.2f} s CPU under the profiler, "
            f"{server.connections - before} new connections; top {top} by own time =="
        )
        print(out.getvalue())

    try:
        await burst()
        for _ in range(4):  # a new pool needs a few bursts of streams to settle
            await concurrent()
        await profiled("(a) burst", burst, 3)
        await profiled("(b) concurrent, settled pool", concurrent, 3)
        await after_idle()
        await profiled(f"(b) concurrent after {KEEPALIVE_EXPIRY + 0.5:g} s idle", concurrent, 1)
    finally:
        await client.aclose()


# -- main ------------------------------------------------------------------------


async def bench(server: BenchServer, settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    kinds = client_types()
    if args.raw_drain:
        kinds.insert(2, RawDrain)
    connections = {kind.name: await connections_per_request(server, kind) for kind in kinds}
    results = scenarios(settings)
    names = [kind.name for kind in kinds]
    for scenario in results:
        clients = [kind(server.url) for kind in kinds]
        try:
            await check_complete(clients, settings.stream_chunks)
            await run_scenario(scenario, clients, server)
        finally:
            for client in clients:
                await client.aclose()
    report(results, names, connections, time.perf_counter() - started, args.verbose)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, help="counted rounds for every scenario (default 7 / 5 / 10)"
    )
    parser.add_argument("--quick", action="store_true", help="a few small rounds (under 20 s)")
    parser.add_argument(
        "--raw-drain",
        action="store_true",
        help="also run raw httpx reading past [DONE] to the end (keeps its connections)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print every round")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile our streaming path instead"
    )
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings()
    if args.quick:
        settings = Settings(
            burst_rounds=3, concurrent_rounds=2, streams=100, call_rounds=3, calls_per_round=20
        )
    if args.rounds:
        settings.burst_rounds = settings.concurrent_rounds = settings.call_rounds = args.rounds
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
