"""Load on the HTTP server: N concurrent SSE chat sessions, against the simulator alone.

Four processes: the gateway simulator (``python -m alltoken_agent simulator``), the
server (``python -m alltoken_agent serve --base-url <simulator>``, limits raised in its
config file so the bench measures the server, not its throttles), the raw-bytes relay
floor (``bench/relay_floor.py``: the same route with no auth, store, agent or JSON, only
re-framing the simulator's ``data:`` lines) and this script, the load generator. Each
runs in its own process, so none shares another's GIL. The generator is kept cheap (its
CPU per message is printed): plain asyncio streams on kept-alive HTTP/1.1 connections, no
HTTP library, no JSON parsed per chunk; it scans each response's bytes for the first text
event (TTFT) and counts the text events.

For each N (default 100 and 500; a fresh server for each):

1. Simulator alone: N streamed chat completions straight to the simulator, the same
   request the server's agent sends (system prompt, one user message, no tools).
2. Sessions: N ``POST /v1/sessions``; the server's RSS before and after gives the
   memory per idle (stored, not streaming) session. A first batch of 50 is created
   before and printed apart: its requests in flight at once raise the allocator's
   high-water mark once, which 100 sessions would otherwise read as ~8 KiB each.
3. Open streams: N streams held open mid-answer (the simulator stalls each after its
   first chunk); the server's RSS then gives the memory per in-flight stream.
4. Through the relay floor, then through ``serve``: one ``POST
   /v1/sessions/{id}/messages`` with ``Accept: text/event-stream`` per session, all at
   once. Throughput is messages per second of wall time; latency is per message, to the
   first ``stream:delta`` (TTFT) and to ``done``. "Added" is a path's percentile minus
   the simulator's, same N. CPU per message is printed for each process: the relaying
   one (the floor or the server), the simulator and the generator (this process).

Then relay CPU per chunk: 100 messages of about 200 chunks and 100 of about 10, through
the server and through the floor; the extra CPU over the extra chunks is what one more
chunk costs, without the per-message work (HTTP, sessions, the ledger).

Then the steady phase, for each N: against a second simulator that paces its chunks as a
model streams, N workers each send their next message as their last one ends, straight
to the simulator, through a relay floor in front of it and through a fresh server. Each
latency and throughput verdict, burst or steady, prints what the floor gave in the same
run beside it, so a target that no Python relay meets here is told apart from one the
server misses.

Run ``python bench/server_load.py`` (N = 100 and 500); ``-n 100`` for one N; ``--no-burst
--no-chunks`` for the steady phases alone; ``--store postgresql://...`` to put the
server's state in PostgreSQL; ``--processes N`` to run ``serve --processes N`` (the
server's RSS and CPU are then the sums over its process tree: the parent, its N workers
and multiprocessing's resource tracker). On a 2-core machine the load
generator, the server and the simulator share the cores (and with whatever else runs:
the load average is printed): read the figures as "what one server process sustains
next to its clients", not as a capacity plan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SERVER_KEY = "bench-server-key-0123456789abcdef"
GATEWAY_KEY = "bench-gateway-key"
MODEL = "minimax-m2.7"
INSTRUCTIONS = "You are a helpful assistant."
START_TIMEOUT = 30.0
STALL_SECONDS = 5.0
LONG_REPLY = "[[reply " + " ".join(f"w{i}" for i in range(200)) + "]]"
"""A prompt the simulator answers with exactly 200 words: 200 content chunks."""
CHUNK_SESSIONS = 100

SERVER_CONFIG = """\
[retry]
max_retries = 0

[server]
rate_limit_per_minute = 100000000.0
rate_limit_burst = 1000000
max_concurrent_runs = 1000000
shutdown_grace = 1.0
"""

TARGETS = {
    "ttft_p50_100": 5.0,
    "ttft_p99_100": 25.0,
    "ttft_p99_500": 100.0,
    "throughput_ratio": 0.8,
    "chunk_us": 20.0,
    "open_stream_kib": 50.0,
    "idle_session_kib": 5.0,
}
"""Issue 18's targets: added TTFT (ms), throughput vs the simulator, µs, KiB."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and every live process under it (``serve --processes N``: its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [pid], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found


class Child:
    """A child process answering HTTP on ``url`` once ``probe`` succeeds."""

    def __init__(
        self, command: list[str], env: dict[str, str], url: str, probe: str, tree: bool = False
    ) -> None:
        self.url = url
        self.tree = tree
        """Whether RSS and CPU are summed over the process and its descendants."""
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url + probe, timeout=1):
                    return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
                time.sleep(0.05)
            except OSError:
                time.sleep(0.05)
        self._log.seek(0)
        raise RuntimeError(f"{command[:4]} did not start:\n{self._log.read().decode()[-2000:]}")

    @property
    def pids(self) -> list[int]:
        return _tree(self.process.pid) if self.tree else [self.process.pid]

    @property
    def rss_kib(self) -> int | None:
        sizes = [_rss_kib(pid) for pid in self.pids]
        return None if None in sizes else sum(size or 0 for size in sizes)

    @property
    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                total += _cpu_seconds(pid)
            except OSError:  # ended between the listing and the read
                pass
        return total

    def wait_for_output(self, text: bytes) -> None:
        """Wait (bounded) until the child has written ``text`` to its log."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            # pread: the child writes through the same open file, so no seek here.
            if text in os.pread(self._log.fileno(), 1 << 20, 0):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the child never wrote {text!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Timing:
    """One request: seconds to the first text and to the end, chunks seen, or the error."""

    ttft: float | None = None
    total: float | None = None
    chunks: int = 0
    error: str | None = None


@dataclass
class Phase:
    name: str
    wall: float
    timings: list[Timing] = field(default_factory=list)
    cpu: float | None = None
    """CPU seconds the relaying process spent in the phase (None: not measured)."""
    sim_cpu: float | None = None
    """CPU seconds the simulator spent in the phase."""
    gen_cpu: float | None = None
    """CPU seconds this process (the load generator) spent in the phase."""

    @property
    def ok(self) -> list[Timing]:
        return [t for t in self.timings if t.error is None and t.total is not None]

    @property
    def rate(self) -> float:
        return len(self.ok) / self.wall

    @property
    def chunks(self) -> int:
        return sum(t.chunks for t in self.ok)

    def pct(self, attr: str, q: float) -> float:
        values = sorted(getattr(t, attr) for t in self.ok if getattr(t, attr) is not None)
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class HttpError(Exception):
    """A response the bench cannot use (status, framing, or a closed connection)."""


class Client:
    """Kept-alive HTTP/1.1 connections to one server, over plain asyncio streams.

    The cheapest client Python offers: a request is one write of pre-built bytes, a
    response is its head and its body's chunks as they arrive, with no header objects,
    no decoding and no JSON. So the generator's CPU stays a small part of what it measures.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.url = url
        self.head = f"Host: {self.host}:{self.port}\r\n".encode() + b"".join(
            f"{k}: {v}\r\n".encode() for k, v in (headers or {}).items()
        )
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(
        self, method: str, path: str, body: Any = None, accept: str = "application/json"
    ) -> Response:
        """Send a request; the response once its head arrived (a stale connection: retried)."""
        data = b"" if body is None else json.dumps(body).encode()
        request = (
            f"{method} {path} HTTP/1.1\r\n".encode()
            + self.head
            + b"Accept: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (accept.encode(), len(data))
            + data
        )
        while True:
            reused = bool(self.idle)
            if reused:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if reused:  # the server closed it as idle just as this request went out
                    continue
                raise
            return Response(self, reader, writer, head)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A whole request: its status and its JSON body (None when empty)."""
        response = await self.open(method, path, body)
        data = b"".join([piece async for piece in response.pieces()])
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class Response:
    """One response's status and body, read piece by piece; its connection goes back after."""

    def __init__(
        self,
        client: Client,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: bytes,
    ) -> None:
        self.client, self.reader, self.writer = client, reader, writer
        self.status = int(head[9:12])
        lower = head.lower()
        self.chunked = b"transfer-encoding: chunked" in lower
        self.keep = b"connection: close" not in lower
        self.length: int | None = None
        at = lower.find(b"content-length:")
        if at >= 0:
            self.length = int(lower[at + 15 : lower.index(b"\r\n", at)])

    async def pieces(self) -> AsyncIterator[bytes]:
        """The body as it arrives (de-chunked); then the connection is kept or closed."""
        reader = self.reader
        if self.chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                yield (await reader.readexactly(size + 2))[:-2]
        elif self.length is not None:
            if self.length:
                yield await reader.readexactly(self.length)
        else:
            self.keep = False
            while data := await reader.read(65536):
                yield data
        if self.keep:
            self.client.idle.append((reader, self.writer))
        else:
            self.writer.close()


class Scan:
    """Counts a marker in a body read piece by piece, with matches split across pieces."""

    __slots__ = ("marker", "tail", "count")

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.tail = b""
        self.count = 0

    def feed(self, piece: bytes) -> int:
        """The matches that end in ``piece``."""
        text = self.tail + piece
        found = text.count(self.marker)
        self.tail = text[-(len(self.marker) - 1) :]
        self.count += found
        return found


SIM_TEXT = b'"delta":{"content":"'
"""A simulator chunk carrying text (the role chunk's delta starts with ``role``)."""
SERVER_TEXT = b"event: stream:delta\n"


def _sim_body(index: int, content: str | None = None) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": content or f"hello number {index}"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.7,
    }


async def _timed(
    client: Client,
    path: str,
    body: Any,
    text: bytes,
    end: bytes | None,
    on_first: Callable[[], None] | None = None,
) -> Timing:
    """One streamed request: time to the first ``text`` marker and to the end, texts seen.

    ``end``: the marker the stream must end with (the server's ``done`` event), else an error.
    """
    timing = Timing()
    start = time.perf_counter()
    try:
        response = await client.open("POST", path, body, accept="text/event-stream")
        if response.status != 200:
            async for _ in response.pieces():
                pass
            return Timing(error=f"HTTP {response.status}")
        texts = Scan(text)
        last = b""
        async for piece in response.pieces():
            if texts.feed(piece) and timing.ttft is None:
                timing.ttft = time.perf_counter() - start
                if on_first is not None:
                    on_first()
            last = piece
        timing.chunks = texts.count
        if end is not None and end not in last:
            at = last.rfind(b"event: ")
            name = last[at + 7 : last.find(b"\n", at)].decode(errors="replace") if at >= 0 else ""
            code = last.find(b'"code":"', at)
            why = last[code + 8 : last.find(b'"', code + 8)].decode(errors="replace")
            timing.error = f"ended with {name or 'no event'}" + (f" {why}" if code >= 0 else "")
        timing.total = time.perf_counter() - start
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        timing.error = type(exc).__name__
    return timing


def _sim_stream(client: Client, index: int, content: str | None = None) -> Any:
    return _timed(client, "/v1/chat/completions", _sim_body(index, content), SIM_TEXT, None)


def _server_stream(
    client: Client,
    session_id: str,
    content: str,
    on_first: Callable[[], None] | None = None,
) -> Any:
    return _timed(
        client,
        f"/v1/sessions/{session_id}/messages",
        {"content": content},
        SERVER_TEXT,
        b"event: done\n",
        on_first,
    )


async def _gather(n: int, make: Any) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    results = await asyncio.gather(*(make(i) for i in range(n)))
    return time.perf_counter() - start, list(results)


async def _measured(name: str, n: int, make: Any, child: Child | None, sim: Child) -> Phase:
    """N requests at once; the CPU ``child``, the simulator and this process spent on them."""
    before = None if child is None else child.cpu
    sim_before, gen_before = sim.cpu, time.process_time()
    wall, timings = await _gather(n, make)
    gen_cpu, sim_cpu = time.process_time() - gen_before, sim.cpu - sim_before
    cpu = None if child is None or before is None else child.cpu - before
    return Phase(name, wall, timings, cpu, sim_cpu, gen_cpu)


def _clients(server: Child, relay: Child, sim: Child) -> tuple[Client, Client, Client]:
    return (
        Client(sim.url, {"Authorization": f"Bearer {GATEWAY_KEY}"}),
        Client(server.url, {"Authorization": f"Bearer {SERVER_KEY}"}),
        Client(relay.url),
    )


CREATE_CONCURRENCY = 50
"""Sessions created at once: the load generator then keeps this many connections open."""


async def _open_connections(api: Client) -> None:
    """Open (and keep) the connections session creation will use, before memory is measured.

    Otherwise the idle server-side state of the load generator's kept-alive connections
    (tens of KiB each) is counted as the sessions' memory: 50 connections over 100
    sessions read as ~15 KiB per session, over 500 as ~3.
    """
    responses = await asyncio.gather(
        *(api.open("GET", "/v1/capabilities") for _ in range(CREATE_CONCURRENCY))
    )
    for response in responses:  # all open at once, so each is a connection of its own
        async for _ in response.pieces():
            pass


async def _create_sessions(api: Client, n: int) -> list[str]:
    semaphore = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create(i: int) -> str:
        async with semaphore:
            status, body = await api.call(
                "POST", "/v1/sessions", {"tools": [], "instructions": INSTRUCTIONS}
            )
            if status != 201 and status != 200:
                raise HttpError(f"creating a session: HTTP {status}")
            return str(body["id"])

    return list((await _gather(n, create))[1])


async def run(n: int, sim: Child, server: Child, relay: Child) -> dict[str, Any]:
    raw, api, floor = _clients(server, relay, sim)
    try:
        # Warm up every path (imports, pools, the SQLite file).
        await _gather(5, lambda i: _sim_stream(raw, i))
        await _gather(5, lambda i: _server_stream(floor, "warm", f"hello {i}"))
        warm = (await api.call("POST", "/v1/sessions", {"tools": []}))[1]["id"]
        for i in range(3):
            await _server_stream(api, warm, f"hello {i}")
        await raw.call("POST", "/_sim/reset")

        baseline = await _measured("simulator alone", n, lambda i: _sim_stream(raw, i), None, sim)
        await raw.call("POST", "/_sim/reset")

        await _open_connections(api)
        await asyncio.sleep(0.5)
        rss_before_first = server.rss_kib
        # A first batch, created the same way and not counted: the first CREATE_CONCURRENCY
        # requests in flight at once raise the allocator's high-water mark once (~0.8 MiB
        # that Python keeps for reuse), whatever the number of sessions that follow.
        await _create_sessions(api, CREATE_CONCURRENCY)
        await asyncio.sleep(0.5)
        rss_before_sessions = server.rss_kib
        session_ids = await _create_sessions(api, n)
        await asyncio.sleep(0.5)
        rss_after_sessions = server.rss_kib

        # Open streams first, on a server that has not streamed yet: each stalls after its
        # first text chunk until STALL_SECONDS pass, so N streams are held mid-answer.
        rss_before_streams = server.rss_kib
        stall = STALL_SECONDS + n / 10  # long enough for all N to start, even at 500
        await raw.call("POST", "/_sim/faults", {"faults": [f"stall:2:{stall}"] * n})
        started = time.perf_counter()
        streaming = [0]
        all_streaming = asyncio.Event()

        def first_delta() -> None:
            streaming[0] += 1
            if streaming[0] == n:
                all_streaming.set()

        held = [
            asyncio.create_task(
                _server_stream(api, session_ids[i], f"hello number {i}", first_delta)
            )
            for i in range(n)
        ]
        try:
            await asyncio.wait_for(all_streaming.wait(), stall * 0.8)
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(0.3)
        rss_streams = server.rss_kib
        in_flight = streaming[0] - sum(task.done() for task in held)
        held_timings = await asyncio.gather(*held)
        held_wall = time.perf_counter() - started
        await raw.call("POST", "/_sim/reset")

        relayed = await _measured(
            "relay floor (bytes)",
            n,
            lambda i: _server_stream(floor, "floor", f"hello number {i}"),
            relay,
            sim,
        )
        await raw.call("POST", "/_sim/reset")
        chat = await _measured(
            "server (SSE)",
            n,
            lambda i: _server_stream(api, session_ids[i], f"hello number {i}"),
            server,
            sim,
        )
        await raw.call("POST", "/_sim/reset")
    finally:
        for client in (raw, api, floor):
            client.close()

    def per(before: int | None, after: int | None, count: int) -> float | None:
        if before is None or after is None or count == 0:
            return None
        return (after - before) / count

    return {
        "n": n,
        "phases": [baseline, relayed, chat],
        "idle_session_kib": per(rss_before_sessions, rss_after_sessions, n),
        "first_batch_kib": per(rss_before_first, rss_before_sessions, 1),
        "open_stream_kib": per(rss_before_streams, rss_streams, in_flight),
        "in_flight": in_flight,
        "held_errors": sum(t.error is not None for t in held_timings),
        "held_wall": held_wall,
        "rss": (rss_before_sessions, rss_after_sessions, rss_before_streams, rss_streams),
    }


async def per_chunk(sim: Child, server: Child, relay: Child) -> dict[str, Any]:
    """CPU per extra chunk, through the server and the floor: long replies minus short ones."""
    n = CHUNK_SESSIONS
    raw, api, floor = _clients(server, relay, sim)
    figures: dict[str, Any] = {}
    try:
        for name, child, client in (("server", server, api), ("floor", relay, floor)):
            phases = []
            for content in ("hello", LONG_REPLY):
                ids = await _create_sessions(api, n) if child is server else ["floor"] * n
                phase = await _measured(
                    name,
                    n,
                    lambda i, c=content, s=ids, k=client: _server_stream(k, s[i], c),
                    child,
                    sim,
                )
                phases.append(phase)
                await raw.call("POST", "/_sim/reset")
            short, long = phases
            extra = long.chunks - short.chunks
            if extra > 0 and short.cpu is not None and long.cpu is not None:
                figures[f"{name}_chunk_us"] = (long.cpu - short.cpu) / extra * 1e6
            figures[f"{name}_chunks"] = (short.chunks / max(1, len(short.ok)), long.chunks / n)
            figures[f"{name}_errors"] = sum(t.error is not None for p in phases for t in p.timings)
    finally:
        for c in (raw, api, floor):
            c.close()
    return figures


STEADY_DELAY = 0.05
"""Seconds between the paced simulator's chunks: a model streaming ~20 tokens a second."""
STEADY_REPLY = "[[reply " + " ".join(f"s{i}" for i in range(40)) + "]]"
"""The steady phase's prompt: 40 text chunks, so about 2 s per reply when paced."""
STEADY_SECONDS = 12.0


async def _steady(
    name: str, n: int, make: Callable[[int], Any], child: Child | None, sim: Child, seconds: float
) -> Phase:
    """N streams kept open: each worker sends its next message as its last one ends.

    Unlike a burst of N requests at once, nothing queues behind N set-ups: this is what the
    path adds to a message while N others are mid-answer. Workers start spread over the
    first reply, and only messages sent after a warm-up (a quarter of ``seconds``) count.
    """
    loop = asyncio.get_running_loop()
    begin = loop.time()
    warm, end = begin + seconds / 4, begin + seconds
    counted: list[Timing] = []
    marks: dict[str, float] = {}

    async def worker(i: int) -> None:
        await asyncio.sleep(i / n * STEADY_DELAY * 40)
        while loop.time() < end:
            sent = loop.time()
            timing = await make(i)
            if sent >= warm:
                counted.append(timing)

    async def mark() -> None:
        await asyncio.sleep(warm - loop.time())
        marks["wall"] = time.perf_counter()
        marks["cpu"] = -1.0 if child is None else child.cpu
        marks["sim"], marks["gen"] = sim.cpu, time.process_time()

    marker = asyncio.create_task(mark())
    await asyncio.gather(*(worker(i) for i in range(n)))
    await marker
    wall = time.perf_counter() - marks["wall"]
    cpu = None if child is None else child.cpu - marks["cpu"]
    return Phase(
        name, wall, counted, cpu, sim.cpu - marks["sim"], time.process_time() - marks["gen"]
    )


async def steady(n: int, sim: Child, server: Child, relay: Child, seconds: float) -> dict[str, Any]:
    """The steady phases for N: the paced simulator alone, through the floor, through ``serve``."""
    raw, api, floor = _clients(server, relay, sim)
    try:
        base = await _steady(
            "simulator alone", n, lambda i: _sim_stream(raw, i, STEADY_REPLY), None, sim, seconds
        )
        relayed = await _steady(
            "relay floor (bytes)",
            n,
            lambda i: _server_stream(floor, "floor", STEADY_REPLY),
            relay,
            sim,
            seconds,
        )
        ids = await _create_sessions(api, n)
        chat = await _steady(
            "server (SSE)",
            n,
            lambda i: _server_stream(api, ids[i], STEADY_REPLY),
            server,
            sim,
            seconds,
        )
    finally:
        for client in (raw, api, floor):
            client.close()
    return {"n": n, "phases": [base, relayed, chat]}


def report_steady(result: dict[str, Any]) -> str:
    base, relayed, chat = result["phases"]
    lines = [
        f"steady, N = {result['n']} streams kept open (simulator paced {STEADY_DELAY:g} s a "
        f"chunk, 40 chunks; load average {result['load'][0]:.2f} before, "
        f"{result['load'][1]:.2f} after)",
        f"{'':24}{'ok':>5}{'msg/s':>8}{'TTFT p50':>10}{'p99':>10}{'total p50':>11}{'p99':>10}"
        f"{'CPU/msg: relay':>16}{'sim':>8}{'gen':>8}",
    ]
    for phase in (base, relayed, chat):
        lines.append(_row(phase))
    lines.append(_added("added by the floor", relayed, base))
    lines.append(_added("added by the server", chat, base))
    errors = [t.error for p in (base, relayed, chat) for t in p.timings if t.error]
    if errors:
        lines.append(f"errors: {len(errors)} ({', '.join(sorted(set(map(str, errors))))})")
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:>8.0f}ms"


def _cpu_ms(cpu: float | None, phase: Phase) -> float | None:
    return None if cpu is None else cpu / max(1, len(phase.ok)) * 1000


def _per_msg(cpu: float | None, phase: Phase) -> str:
    return "-" if cpu is None else f"{cpu / max(1, len(phase.ok)) * 1000:.2f}ms"


def _row(phase: Phase) -> str:
    return (
        f"{phase.name:24}{len(phase.ok):>5}{phase.rate:>8.1f}"
        f"{_ms(phase.pct('ttft', 50))}{_ms(phase.pct('ttft', 99))}"
        f" {_ms(phase.pct('total', 50))}{_ms(phase.pct('total', 99))}"
        f"{_per_msg(phase.cpu, phase):>16}{_per_msg(phase.sim_cpu, phase):>8}"
        f"{_per_msg(phase.gen_cpu, phase):>8}"
    )


def _added(label: str, phase: Phase, base: Phase) -> str:
    return (
        f"{label:24}{'':5}{phase.rate / base.rate:>7.2f}x"
        f"{_ms(phase.pct('ttft', 50) - base.pct('ttft', 50))}"
        f"{_ms(phase.pct('ttft', 99) - base.pct('ttft', 99))}"
        f" {_ms(phase.pct('total', 50) - base.pct('total', 50))}"
        f"{_ms(phase.pct('total', 99) - base.pct('total', 99))}"
    )


def report(result: dict[str, Any]) -> str:
    base, relayed, chat = result["phases"]
    n = result["n"]
    lines = [
        f"N = {n} concurrent sessions, one SSE message each "
        f"(load average {result['load'][0]:.2f} before, {result['load'][1]:.2f} after)"
    ]
    lines.append(
        f"{'':24}{'ok':>5}{'msg/s':>8}{'TTFT p50':>10}{'p99':>10}{'total p50':>11}{'p99':>10}"
        f"{'CPU/msg: relay':>16}{'sim':>8}{'gen':>8}"
    )

    for phase in (base, relayed, chat):
        lines.append(_row(phase))
    lines.append(_added("added by the floor", relayed, base))
    lines.append(_added("added by the server", chat, base))
    errors = [t.error for p in (base, relayed, chat) for t in p.timings if t.error]
    if errors:
        lines.append(f"errors: {len(errors)} ({', '.join(sorted(set(map(str, errors))))})")
    idle, stream = result["idle_session_kib"], result["open_stream_kib"]
    first = result["first_batch_kib"]
    lines.append(
        "memory per idle session (stored, no connection): "
        + ("n/a" if idle is None else f"{idle:.2f} KiB")
        + f" over {n} sessions created after a first {CREATE_CONCURRENCY} (those raised RSS by "
        + ("n/a" if first is None else f"{first:.0f} KiB")
        + " once: requests in flight, not sessions)"
    )
    lines.append(
        f"memory per open stream ({result['in_flight']} held mid-answer): "
        + ("n/a" if stream is None else f"{stream:.1f} KiB")
        + f"; all {n} finished after {result['held_wall']:.1f} s, "
        f"{result['held_errors']} errors"
    )
    rss = ", ".join("n/a" if r is None else f"{r / 1024:.1f}" for r in result["rss"])
    lines.append(f"server RSS MiB (before sessions, after, before streams, streams open): {rss}")
    return "\n".join(lines)


def report_chunks(chunks: dict[str, Any]) -> str:
    def us(key: str) -> str:
        value = chunks.get(key)
        return "n/a" if value is None else f"{value:.1f} µs"

    server_chunks = chunks.get("server_chunks", (0, 0))
    return (
        f"relay CPU per chunk ({CHUNK_SESSIONS} messages of {server_chunks[1]:.0f} chunks minus "
        f"{CHUNK_SESSIONS} of {server_chunks[0]:.0f}): server {us('server_chunk_us')}, "
        f"raw-bytes floor {us('floor_chunk_us')}; errors: server {chunks.get('server_errors')}, "
        f"floor {chunks.get('floor_errors')}"
    )


def verdicts(
    results: list[dict[str, Any]], chunks: dict[str, Any], steadies: list[dict[str, Any]]
) -> list[str]:
    """One line per target of the issue: PASS or FAIL with the figure.

    The latency and throughput targets are judged twice: on the burst (N at once, the
    issue's table) and on the steady phase (N streams kept open).
    """
    out = []
    for result in steadies:
        n = result["n"]
        if n == 100:
            out.append(_latency_verdict(result, "steady", n, 50, TARGETS["ttft_p50_100"]))
            out.append(_latency_verdict(result, "steady", n, 99, TARGETS["ttft_p99_100"]))
        if n == 500:
            out.append(_latency_verdict(result, "steady", n, 99, TARGETS["ttft_p99_500"]))
        out.append(_throughput_verdict(result, "steady", n))
    for result in results:
        n = result["n"]
        if n == 100:
            out.append(_latency_verdict(result, "burst", n, 50, TARGETS["ttft_p50_100"]))
            out.append(_latency_verdict(result, "burst", n, 99, TARGETS["ttft_p99_100"]))
        if n == 500:
            out.append(_latency_verdict(result, "burst", n, 99, TARGETS["ttft_p99_500"]))
        out.append(_throughput_verdict(result, "burst", n))
        for key in ("open_stream_kib", "idle_session_kib"):
            if result[key] is not None:
                out.append(_verdict(f"{key} at {n}", result[key], TARGETS[key], "KiB"))
    if "server_chunk_us" in chunks:
        out.append(_verdict("relay CPU per chunk", chunks["server_chunk_us"], 20.0, "µs"))
    return out


def _latency_verdict(result: dict[str, Any], phase: str, n: int, q: int, target: float) -> str:
    """An added-TTFT verdict, with what the raw relay floor added in the same run.

    When the floor, which relays bytes with no auth, store, agent or JSON, adds more
    than the target too, the line says so: the target is then below what one Python
    process relaying these streams on this machine does.
    """
    base, relayed, chat = result["phases"]
    added = (chat.pct("ttft", q) - base.pct("ttft", q)) * 1000
    line = _verdict(f"{phase}: added TTFT p{q} at {n}", added, target, "ms")
    floor = (relayed.pct("ttft", q) - base.pct("ttft", q)) * 1000
    line += f" [the raw-bytes relay floor added {floor:.0f} ms"
    if floor > target:
        line += ": the target is below what one Python process relaying them does here"
    return line + "]"


def _throughput_verdict(result: dict[str, Any], phase: str, n: int) -> str:
    base, relayed, chat = result["phases"]
    ratio = chat.rate / base.rate
    return (
        _verdict(f"{phase}: throughput at {n}", ratio, TARGETS["throughput_ratio"], "x", True)
        + f" [the floor: {relayed.rate / base.rate:.2f}x]"
    )


def _verdict(name: str, value: float, target: float, unit: str, at_least: bool = False) -> str:
    ok = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    line = f"{name}: {value:.2f} {unit} (target {sign} {target:g})"
    if unit == "ms" and value < 0:
        # The simulator alone was slower than through the server: the run measured the
        # machine's load, not the server. Never a pass.
        return f"NOISE {line}: the simulator alone was slower in this run; run it again"
    return f"{'PASS' if ok else 'FAIL'} {line}"


def bench_env(home: Path) -> dict[str, str]:
    """The servers' environment: ``home`` as their folder, with the bench's config file.

    No real key from this shell reaches a child: the simulator takes any key.
    """
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text(SERVER_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return env | {"ALLTOKEN_AGENT_HOME": str(home), "ALLTOKEN_API_KEY": GATEWAY_KEY}


def start_relay(env: dict[str, str], sim: Child) -> Child:
    """The raw-bytes relay floor (``relay_floor.py``) in front of ``sim``."""
    port = _free_port()
    return Child(
        [sys.executable, str(Path(__file__).with_name("relay_floor.py"))]
        + ["--port", str(port), "--upstream", sim.url],
        env,
        f"http://127.0.0.1:{port}",
        "/healthz",
    )


def _start_server(
    py: list[str], env: dict[str, str], sim: Child, store: str, processes: int = 1
) -> Child:
    port = _free_port()
    several = ["--processes", str(processes)] if processes > 1 else []
    server = Child(
        [*py, "serve", "--port", str(port), "--base-url", f"{sim.url}/v1"]
        + ["--store", store, "--log-level", "warning", "--model", MODEL, *several],
        env | {"ALLTOKEN_AGENT_SERVER_KEYS": SERVER_KEY},
        f"http://127.0.0.1:{port}",
        "/healthz",
        tree=processes > 1,
    )
    if processes > 1:
        # One process answering /healthz is not all of them: the address is printed once
        # every process serves.
        server.wait_for_output(b"alltoken-agent server on")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", default="100,500", help="concurrent sessions, comma-separated (default 100,500)"
    )
    parser.add_argument("--store", help="the server's database URL (default: a temp SQLite file)")
    parser.add_argument("--no-burst", action="store_true", help="skip the burst phases")
    parser.add_argument("--no-chunks", action="store_true", help="skip the per-chunk CPU phase")
    parser.add_argument("--no-steady", action="store_true", help="skip the steady phases")
    parser.add_argument(
        "--steady-seconds", type=float, default=STEADY_SECONDS, help="length of a steady phase"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="serve --processes N: N server processes on one port; RSS and CPU are then "
        "summed over the server's process tree (the parent and its workers)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    sizes = [int(part) for part in args.n.split(",") if part.strip()]

    results: list[dict[str, Any]] = []
    steadies: list[dict[str, Any]] = []
    chunks: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="alltoken-bench-") as folder:
        home = Path(folder)
        env = bench_env(home)
        sim_port = _free_port()
        py = [sys.executable, "-m", "alltoken_agent"]
        sim = Child(
            [*py, "simulator", "--port", str(sim_port)],
            env,
            f"http://127.0.0.1:{sim_port}",
            "/_sim/faults",
        )
        relay = server = None
        try:
            relay = start_relay(env, sim)
            for index, n in enumerate([] if args.no_burst else sizes):
                # A fresh server (and database) per N, so each N's memory starts alike.
                store = args.store or f"sqlite:///{home / f'bench-{index}.db'}"
                server = _start_server(py, env, sim, store, args.processes)
                load_before = os.getloadavg()[0]
                result = asyncio.run(run(n, sim, server, relay))
                result["load"] = (load_before, os.getloadavg()[0])
                results.append(result)
                print(report(result) + "\n", flush=True)
                if index < len(sizes) - 1 or args.no_chunks:
                    server.stop()
                    server = None
            if not args.no_chunks:
                if server is None:
                    server = _start_server(
                        py, env, sim, f"sqlite:///{home / 'chunks.db'}", args.processes
                    )
                chunks = asyncio.run(per_chunk(sim, server, relay))
                print(report_chunks(chunks) + "\n")
            if server is not None:
                server.stop()
                server = None
            if not args.no_steady:
                paced_port = _free_port()
                paced = Child(
                    [*py, "simulator", "--port", str(paced_port)]
                    + ["--chunk-delay", str(STEADY_DELAY)],
                    env,
                    f"http://127.0.0.1:{paced_port}",
                    "/_sim/faults",
                )
                paced_relay: Child | None = None
                try:
                    paced_relay = start_relay(env, paced)
                    for index, n in enumerate(sizes):
                        store = args.store or f"sqlite:///{home / f'steady-{index}.db'}"
                        server = _start_server(py, env, paced, store, args.processes)
                        load_before = os.getloadavg()[0]
                        result = asyncio.run(
                            steady(n, paced, server, paced_relay, args.steady_seconds)
                        )
                        result["load"] = (load_before, os.getloadavg()[0])
                        steadies.append(result)
                        print(report_steady(result) + "\n", flush=True)
                        server.stop()
                        server = None
                finally:
                    if paced_relay is not None:
                        paced_relay.stop()
                    paced.stop()
        finally:
            for child in (server, relay, sim):
                if child is not None:
                    child.stop()
    print("\n".join(verdicts(results, chunks, steadies)))
    if args.json:
        figures = []
        for result in results:
            base, relayed, chat = result["phases"]
            figures.append(
                {
                    "n": result["n"],
                    "load": result["load"],
                    **{
                        f"{key}_msg_s": phase.rate
                        for key, phase in (("sim", base), ("floor", relayed), ("server", chat))
                    },
                    **{
                        f"{key}_{attr}_p{q}_ms": phase.pct(attr, q) * 1000
                        for key, phase in (("sim", base), ("floor", relayed), ("server", chat))
                        for attr in ("ttft", "total")
                        for q in (50, 99)
                    },
                    "idle_session_kib": result["idle_session_kib"],
                    "first_batch_kib": result["first_batch_kib"],
                    "open_stream_kib": result["open_stream_kib"],
                }
            )
        steady_figures = [
            {
                "n": result["n"],
                "load": result["load"],
                **{
                    f"{key}_{figure}": value
                    for key, phase in zip(("sim", "floor", "server"), result["phases"], strict=True)
                    for figure, value in (
                        ("msg_s", phase.rate),
                        ("ttft_p50_ms", phase.pct("ttft", 50) * 1000),
                        ("ttft_p99_ms", phase.pct("ttft", 99) * 1000),
                        ("cpu_ms_per_msg", _cpu_ms(phase.cpu, phase)),
                        ("sim_cpu_ms_per_msg", _cpu_ms(phase.sim_cpu, phase)),
                        ("gen_cpu_ms_per_msg", _cpu_ms(phase.gen_cpu, phase)),
                    )
                },
            }
            for result in steadies
        ]
        print(json.dumps({"runs": figures, "steady": steady_figures, "chunks": chunks}, indent=2))


if __name__ == "__main__":
    main()
