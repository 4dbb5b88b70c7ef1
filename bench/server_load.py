"""Load on the HTTP server: N concurrent SSE chat sessions against it, backed by the simulator.

Three processes: the gateway simulator (``python -m alltoken_agent simulator``), the
server (``python -m alltoken_agent serve --base-url <simulator>``, with limits raised
in its config file so the bench measures the server, not its throttles) and this
script, the load generator (asyncio + httpx).

Phases, each with N concurrent clients:

1. Baseline: N streamed chat completions straight to the simulator, the same
   prompt the server's agent sends (system prompt, one user message, no tools).
2. Sessions: N ``POST /v1/sessions``; the server's RSS before and after gives the
   memory per idle (stored, not streaming) session.
3. Open streams: N streams held open mid-answer (the simulator stalls each after its
   first chunk); the server's RSS then gives the memory per in-flight stream.
4. Chat: one more ``POST /v1/sessions/{id}/messages`` with ``Accept:
   text/event-stream`` per session, all at once. Throughput is messages per second of
   wall time; latency is per message, to the first ``stream:delta`` (TTFT) and to
   ``done``. "Added" is the server's percentile minus the simulator's, same N.

Run ``python bench/server_load.py`` (N=500); ``-n 100`` for a smaller run; ``--store
postgresql://...`` to put the server's state in PostgreSQL. On a 2-core machine the
load generator, the server and the simulator share the cores: read the figures as
"what one server process sustains next to its clients", not as a capacity plan.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SERVER_KEY = "bench-server-key-0123456789abcdef"
GATEWAY_KEY = "bench-gateway-key"
MODEL = "minimax-m2.7"
INSTRUCTIONS = "You are a helpful assistant."
START_TIMEOUT = 30.0
STALL_SECONDS = 5.0

SERVER_CONFIG = """\
[retry]
max_retries = 0

[server]
rate_limit_per_minute = 100000000.0
rate_limit_burst = 1000000
max_concurrent_runs = 1000000
shutdown_grace = 1.0
"""


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


class Child:
    """A child process answering HTTP on ``url`` once ``probe`` succeeds."""

    def __init__(self, command: list[str], env: dict[str, str], url: str, probe: str) -> None:
        self.url = url
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(url + probe, timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self._log.seek(0)
        raise RuntimeError(f"{command[3]} did not start:\n{self._log.read().decode()[-2000:]}")

    @property
    def rss_kib(self) -> int | None:
        return _rss_kib(self.process.pid)

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
    """One request: seconds to the first text and to the end, or the error."""

    ttft: float | None = None
    total: float | None = None
    error: str | None = None


@dataclass
class Phase:
    name: str
    wall: float
    timings: list[Timing] = field(default_factory=list)

    @property
    def ok(self) -> list[Timing]:
        return [t for t in self.timings if t.error is None and t.total is not None]

    def pct(self, attr: str, q: float) -> float:
        values = sorted(getattr(t, attr) for t in self.ok if getattr(t, attr) is not None)
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _sim_stream(client: httpx.AsyncClient, sim: str, index: int) -> Timing:
    body = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"hello number {index}"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.7,
    }
    timing = Timing()
    start = time.perf_counter()
    try:
        async with client.stream(
            "POST",
            f"{sim}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {GATEWAY_KEY}"},
        ) as response:
            if response.status_code != 200:
                await response.aread()
                return Timing(error=f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if timing.ttft is None and line.startswith("data: {") and '"content":"' in line:
                    timing.ttft = time.perf_counter() - start
        timing.total = time.perf_counter() - start
    except httpx.HTTPError as exc:
        timing.error = type(exc).__name__
    return timing


async def _server_stream(
    client: httpx.AsyncClient,
    session_id: str,
    index: int,
    on_first: Callable[[], None] | None = None,
) -> Timing:
    timing = Timing()
    start = time.perf_counter()
    try:
        async with client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": f"hello number {index}"},
            headers={"Accept": "text/event-stream"},
        ) as response:
            if response.status_code != 200:
                await response.aread()
                return Timing(error=f"HTTP {response.status_code}")
            last = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    last = line[7:]
                    if timing.ttft is None and last == "stream:delta":
                        timing.ttft = time.perf_counter() - start
                        if on_first is not None:
                            on_first()
        if last != "done":
            timing.error = f"ended with {last}"
        timing.total = time.perf_counter() - start
    except httpx.HTTPError as exc:
        timing.error = type(exc).__name__
    return timing


async def _gather(n: int, make: Any) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    results = await asyncio.gather(*(make(i) for i in range(n)))
    return time.perf_counter() - start, list(results)


async def run(n: int, sim: Child, server: Child) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=n + 50, max_keepalive_connections=n + 50)
    timeout = httpx.Timeout(300.0, connect=60.0)
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    async with (
        httpx.AsyncClient(limits=limits, timeout=timeout) as raw,
        httpx.AsyncClient(
            base_url=server.url, headers=headers, limits=limits, timeout=timeout
        ) as api,
    ):
        # Warm up both paths (imports, pools, the SQLite file).
        await _gather(5, lambda i: _sim_stream(raw, sim.url, i))
        warm = (await api.post("/v1/sessions", json={"tools": []})).json()["id"]
        for i in range(3):
            await _server_stream(api, warm, i)
        await raw.post(f"{sim.url}/_sim/reset")

        wall, timings = await _gather(n, lambda i: _sim_stream(raw, sim.url, i))
        baseline = Phase("simulator alone", wall, timings)
        await raw.post(f"{sim.url}/_sim/reset")

        rss_before_sessions = server.rss_kib
        semaphore = asyncio.Semaphore(50)

        async def create(i: int) -> str:
            async with semaphore:
                response = await api.post(
                    "/v1/sessions", json={"tools": [], "instructions": INSTRUCTIONS}
                )
                response.raise_for_status()
                return str(response.json()["id"])

        _, session_ids = await _gather(n, create)
        await asyncio.sleep(0.5)
        rss_after_sessions = server.rss_kib

        # Open streams first, on a server that has not streamed yet: each stalls after its
        # first text chunk until STALL_SECONDS pass, so N streams are held mid-answer.
        rss_before_streams = server.rss_kib
        stall = STALL_SECONDS + n / 50
        faults = [f"stall:2:{stall}"] * n
        await raw.post(f"{sim.url}/_sim/faults", json={"faults": faults})
        started = time.perf_counter()
        streaming = [0]
        all_streaming = asyncio.Event()

        def first_delta() -> None:
            streaming[0] += 1
            if streaming[0] == n:
                all_streaming.set()

        held = [
            asyncio.create_task(_server_stream(api, session_ids[i], i, first_delta))
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
        await raw.post(f"{sim.url}/_sim/reset")

        wall, timings = await _gather(n, lambda i: _server_stream(api, session_ids[i], i))
        chat = Phase("server (SSE)", wall, timings)
        await raw.post(f"{sim.url}/_sim/reset")

    def per(before: int | None, after: int | None, count: int) -> float | None:
        if before is None or after is None or count == 0:
            return None
        return (after - before) / count

    return {
        "n": n,
        "baseline": baseline,
        "chat": chat,
        "idle_session_kib": per(rss_before_sessions, rss_after_sessions, n),
        "open_stream_kib": per(rss_before_streams, rss_streams, in_flight),
        "in_flight": in_flight,
        "held_errors": sum(t.error is not None for t in held_timings),
        "held_wall": held_wall,
        "rss": (rss_before_sessions, rss_after_sessions, rss_before_streams, rss_streams),
    }


def report(result: dict[str, Any]) -> str:
    base: Phase = result["baseline"]
    chat: Phase = result["chat"]
    n = result["n"]
    lines = [f"N = {n} concurrent sessions, one SSE message each"]
    head = f"{'':22}{'ok':>6}{'msg/s':>9}{'TTFT p50':>10}{'p99':>8}{'total p50':>11}{'p99':>8}"
    lines.append(head)
    for phase in (base, chat):
        lines.append(
            f"{phase.name:22}{len(phase.ok):>6}{len(phase.ok) / phase.wall:>9.1f}"
            f"{phase.pct('ttft', 50) * 1000:>8.0f}ms{phase.pct('ttft', 99) * 1000:>6.0f}ms"
            f"{phase.pct('total', 50) * 1000:>9.0f}ms{phase.pct('total', 99) * 1000:>6.0f}ms"
        )
    lines.append(
        f"{'added by the server':22}{'':6}{'':9}"
        f"{(chat.pct('ttft', 50) - base.pct('ttft', 50)) * 1000:>8.0f}ms"
        f"{(chat.pct('ttft', 99) - base.pct('ttft', 99)) * 1000:>6.0f}ms"
        f"{(chat.pct('total', 50) - base.pct('total', 50)) * 1000:>9.0f}ms"
        f"{(chat.pct('total', 99) - base.pct('total', 99)) * 1000:>6.0f}ms"
    )
    errors = [t.error for t in chat.timings + base.timings if t.error]
    if errors:
        lines.append(f"errors: {len(errors)} ({', '.join(sorted(set(map(str, errors))))})")
    idle, stream = result["idle_session_kib"], result["open_stream_kib"]
    lines.append(
        "memory per idle session (stored, no connection): "
        + ("n/a" if idle is None else f"{idle:.2f} KiB")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="concurrent sessions (default 500)")
    parser.add_argument("--store", help="the server's database URL (default: a temp SQLite file)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="alltoken-bench-") as folder:
        home = Path(folder)
        (home / "config").mkdir()
        (home / "config" / "config.toml").write_text(SERVER_CONFIG)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env |= {"ALLTOKEN_AGENT_HOME": folder, "ALLTOKEN_API_KEY": GATEWAY_KEY}
        sim_port, server_port = _free_port(), _free_port()
        py = [sys.executable, "-m", "alltoken_agent"]
        sim = Child(
            [*py, "simulator", "--port", str(sim_port)],
            env,
            f"http://127.0.0.1:{sim_port}",
            "/_sim/faults",
        )
        server = None
        try:
            store = args.store or f"sqlite:///{home / 'bench.db'}"
            server_env = env | {"ALLTOKEN_AGENT_SERVER_KEYS": SERVER_KEY}
            server = Child(
                [*py, "serve", "--port", str(server_port), "--base-url", f"{sim.url}/v1"]
                + ["--store", store, "--log-level", "warning", "--model", MODEL],
                server_env,
                f"http://127.0.0.1:{server_port}",
                "/healthz",
            )
            result = asyncio.run(run(args.n, sim, server))
        finally:
            if server is not None:
                server.stop()
            sim.stop()
    print(report(result))
    if args.json:
        chat, base = result["chat"], result["baseline"]
        figures = {
            "n": result["n"],
            "throughput_msg_s": len(chat.ok) / chat.wall,
            "simulator_throughput_msg_s": len(base.ok) / base.wall,
            **{
                f"{phase}_{attr}_p{q}_ms": p.pct(attr, q) * 1000
                for phase, p in (("server", chat), ("simulator", base))
                for attr in ("ttft", "total")
                for q in (50, 99)
            },
            "idle_session_kib": result["idle_session_kib"],
            "open_stream_kib": result["open_stream_kib"],
        }
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
