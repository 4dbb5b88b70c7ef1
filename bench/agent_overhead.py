"""Agent overhead: client CPU of a 3-step tool conversation, agent against bare gateway calls.

The issue's target: the agent adds at most 8 % client CPU to the gateway calls
it makes. The conversation is one ``agent.send`` of a prompt scripted with the
simulator's directives, ``[[call echo {"x": 1}]] [[then]] [[call echo {"x": 2}]]``:
three streamed model requests (two tool rounds, then the final answer) and two
calls of a cheap async tool.

- agent: a fresh ``Agent`` per conversation (same ``Gateway`` object), ``send``.
- bare: the same conversation written by hand on the same ``Gateway``, as code
  without the agent would run it: ``gateway.stream(...)`` drained, the reply
  appended with ``result.to_message()``, the same tool function called on each
  call's parsed arguments and its result appended as a ``tool`` message, until a
  reply has no tool calls. Before timing, the simulator's request log
  (``GET /_sim/requests``) shows that it sends the agent's request bodies (equal
  as JSON: the same messages, tool call ids and fields).
- bodies replayed: the agent's three request bodies, captured once, sent again with
  ``gateway.stream(...)`` (no history kept, the tool called as above): a floor below
  any hand-written loop, since the messages cost nothing to build. Reported, not
  judged.
- agent + hook: the agent with a no-op ``stream:delta`` handler; the agent
  builds per-chunk events only when someone listens. Reported, not judged.
- reused agent: one ``Agent`` for every conversation, ``clear_history()`` before
  each; the difference to "agent" is what building an ``Agent`` costs. Reported,
  not judged.
- plain function: a fresh ``Agent`` given ``echo`` as the plain function, as most
  code passes its tools: the agent describes it (signature, hints, docstring) each
  time, and reuses the argument model it built the first time. Reported, not judged.

Then the burst (the issue's "Agent vs Gateway, CPU per chunk in a burst", target
<= 1.15x): one reply of 2,000 content chunks that arrive together (a small server in
a child process writes the whole pre-rendered stream at once), read with
``agent.stream(...)`` (every event: a ``stream:delta`` per chunk) and with
``gateway.stream(...)`` (every chunk), alternating, CPU per chunk, paired ratios.

The simulator runs in a child process (``python -m alltoken_agent simulator``) so
that ``time.process_time()`` here counts the client only. Every round runs each
variant once, in rotating order; the first rounds are warm-up. The garbage
collector is collected before and off during each timed conversation. Ratios are
paired: per round ``agent/bare``, then the median. The exit code is 0 either way:
this is a measurement, not a test.

Run ``python bench/agent_overhead.py`` (``--quick`` for a smoke run,
``--profile`` for a cProfile of the agent path). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import multiprocessing
import os
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from alltoken_agent import Agent, Gateway, Provider, tool
from alltoken_agent.gateway import ChatResult, ToolCall

API_KEY = "bench-key"
"""Any non-empty key: the simulator wants a Bearer token, not a particular one."""
MODEL = "minimax-m2.7"
PROMPT = '[[call echo {"x": 1}]] [[then]] [[call echo {"x": 2}]]'
REQUESTS = 3
"""Model requests per conversation: two tool rounds and the final answer."""
TARGET = 0.08
ROUNDS = 200
QUICK_ROUNDS = 30
WARMUP = 5
PROFILE_RUNS = 200
OPCODE_RUNS = 20

BARE = "bare gateway calls"
REPLAYED = "bare, bodies replayed"
AGENT = "agent.send"
HOOKED = "agent.send + stream:delta hook"
REUSED = "agent.send on one reused Agent"
PLAIN = "agent.send, echo as a plain function"
START_TIMEOUT = 20.0
BURST_CHUNKS = 2000
BURST_ROUNDS = 21
BURST_TARGET = 1.15


@tool
async def echo(x: int) -> dict[str, int]:
    """Return the argument: the cheapest tool that still validates and serialises.

    Args:
        x: Any integer.
    """
    return {"x": x}


def _ignore(*args: Any) -> None:
    pass


# -- the simulator, in a child process ----------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SimulatorProcess:
    """``python -m alltoken_agent simulator`` on a free loopback port, until ``stop()``."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "alltoken_agent", "simulator", "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def wait_ready(self) -> None:
        """Poll ``GET /v1/models`` until the simulator answers."""
        deadline = time.monotonic() + START_TIMEOUT
        headers = {"Authorization": f"Bearer {API_KEY}"}
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                output = self._log.read().decode(errors="replace")
                raise RuntimeError(f"the simulator exited at start:\n{output}")
            try:
                if httpx.get(f"{self.root}/v1/models", headers=headers, timeout=1).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the simulator did not answer on {self.root} in {START_TIMEOUT} s")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


@asynccontextmanager
async def simulated_gateway() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient, str]]:
    """A ``Gateway`` on a simulator child process, its control client and its address."""
    sim = SimulatorProcess()
    try:
        sim.wait_ready()
        provider = Provider(
            name="bench-sim",
            base_url=f"{sim.root}/v1",
            api_key_env=None,
            dialect="alltoken",
            default_model=MODEL,
        )
        async with (
            Gateway(provider, api_key=API_KEY) as gateway,
            httpx.AsyncClient(base_url=sim.root) as control,
        ):
            yield gateway, control, sim.root
    finally:
        sim.stop()


# -- the two clients ------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One captured request, split the way ``gateway.stream`` takes it."""

    messages: list[dict[str, Any]]
    model: str
    fields: dict[str, Any]


async def run_agent(
    gateway: Gateway, *, hooks: bool = False, agent: Agent | None = None, plain: bool = False
) -> str:
    """One conversation on a fresh agent, or on ``agent`` with its history cleared.

    ``plain``: the fresh agent gets ``echo`` as the plain function, which it describes.
    """
    if agent is None:
        agent = Agent(model=MODEL, tools=[echo.function if plain else echo], gateway=gateway)
        if hooks:
            agent.on("stream:delta", _ignore)
    else:
        agent.clear_history()
    return await agent.send(PROMPT)


async def _drained(
    gateway: Gateway, messages: list[dict[str, Any]], request: Request
) -> ChatResult:
    """One streamed request, read to its end, as either bare side sends it: its result."""
    async with gateway.stream(messages, model=request.model, **request.fields) as stream:
        async for _ in stream:
            pass
    return stream.result


async def _echoed(call: ToolCall) -> str:
    """The tool message content of one call of ``echo``, run on its parsed arguments."""
    return json.dumps(await echo.function(**json.loads(call.arguments)))


async def run_bare(gateway: Gateway, opening: Request) -> str:
    """The conversation by hand: ``opening``'s messages, then each reply and its tool results."""
    messages = list(opening.messages)
    while True:
        result = await _drained(gateway, messages, opening)
        if not result.tool_calls:
            return result.text
        messages.append(result.to_message())
        for call in result.tool_calls:
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": await _echoed(call)}
            )


async def run_replay(gateway: Gateway, requests: list[Request]) -> str:
    """The agent's requests replayed on the gateway, with its tool calls executed."""
    text = ""
    for request in requests:
        result = await _drained(gateway, request.messages, request)
        for call in result.tool_calls:
            await _echoed(call)
        text = result.text
    return text


async def _sent(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The chat request bodies in the simulator's log, oldest first; the log is cleared."""
    log = (await control.get("/_sim/requests")).json()["requests"]
    (await control.post("/_sim/reset")).raise_for_status()
    return [r["json"] for r in log if r["path"].endswith("/chat/completions")]


async def capture(gateway: Gateway, control: httpx.AsyncClient) -> tuple[list[Request], str]:
    """Run the agent once and read back the request bodies it sent.

    Then run the hand-written conversation and the replay once each: both must send
    the agent's request bodies (equal as JSON; only the order of the fields the
    gateway adds differs) and end with its answer.
    """
    (await control.post("/_sim/reset")).raise_for_status()
    answer = await run_agent(gateway)
    bodies = await _sent(control)
    if len(bodies) != REQUESTS:
        raise RuntimeError(f"expected {REQUESTS} chat requests, the simulator saw {len(bodies)}")
    requests = [
        Request(
            messages=body["messages"],
            model=body["model"],
            fields={k: v for k, v in body.items() if k not in ("messages", "model", "stream")},
        )
        for body in bodies
    ]
    sides: dict[str, Callable[[], Awaitable[str]]] = {
        BARE: lambda: run_bare(gateway, requests[0]),
        REPLAYED: lambda: run_replay(gateway, requests),
    }
    for name, side in sides.items():
        got = await side()
        if got != answer:
            raise RuntimeError(f"{name} answered {got!r}, the agent {answer!r}")
        sent = await _sent(control)
        if sent != bodies:
            raise RuntimeError(f"{name} sent other requests than the agent")
    return requests, answer


# -- measuring --------------------------------------------------------------------


async def cpu_us(work: Callable[[], Awaitable[Any]]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        await work()
        return (time.process_time() - start) * 1e6
    finally:
        gc.enable()


def _interval(ratios: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A bootstrap 90 % interval of the median of ``ratios``: how far the verdict can trust it.

    The host's noise moves single conversations by tens of percent; the interval says
    whether a figure near the target is above or below it, or cannot tell.
    """
    draw = random.Random(0).choices  # seeded: the same samples give the same interval
    medians = sorted(statistics.median(draw(ratios, k=len(ratios))) for _ in range(resamples))
    return medians[resamples // 20], medians[resamples - 1 - resamples // 20]


def _spread(values: list[float]) -> str:
    deciles = statistics.quantiles(values, n=10)
    return f"{deciles[0]:7.0f}–{deciles[-1]:<7.0f}"


async def measure(rounds: int, *, verbose: bool) -> None:
    async with simulated_gateway() as (gateway, control, root):
        requests, _ = await capture(gateway, control)
        reused = Agent(model=MODEL, tools=[echo], gateway=gateway)
        variants: dict[str, Callable[[], Awaitable[Any]]] = {
            BARE: lambda: run_bare(gateway, requests[0]),
            REPLAYED: lambda: run_replay(gateway, requests),
            AGENT: lambda: run_agent(gateway),
            HOOKED: lambda: run_agent(gateway, hooks=True),
            REUSED: lambda: run_agent(gateway, agent=reused),
            PLAIN: lambda: run_agent(gateway, plain=True),
        }
        names = list(variants)
        samples: dict[str, list[float]] = {name: [] for name in names}
        wall = time.perf_counter()
        for index in range(WARMUP + rounds):
            shift = index % len(names)
            timings = {}
            for name in names[shift:] + names[:shift]:
                timings[name] = await cpu_us(variants[name])
            if index < WARMUP:
                continue
            for name, value in timings.items():
                samples[name].append(value)
            if verbose:
                print(" ".join(f"{timings[n]:8.0f}" for n in names))
            if index % 50 == 0:  # keep the simulator's request log short
                await control.post("/_sim/reset")
        wall = time.perf_counter() - wall

    bare = samples[BARE]
    print(
        f"agent overhead: one {REQUESTS}-request tool conversation (2 tool rounds + answer), "
        "client CPU per conversation"
    )
    print(
        f"{rounds} rounds (+{WARMUP} warm-up), {wall:.1f} s; simulator in a child process "
        f"on {root}; python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print()
    print(f"{'':32} {'median µs':>10}  {'p10–p90 µs':<16} {'paired ratio':>12}")
    ratios: dict[str, float] = {}
    for name in names:
        values = samples[name]
        line = f"{name:32} {statistics.median(values):10.0f}  {_spread(values):<16}"
        if name != BARE:
            ratios[name] = statistics.median(a / b for a, b in zip(values, bare, strict=True))
            extra = statistics.median(a - b for a, b in zip(values, bare, strict=True))
            line += f" {ratios[name]:12.3f}  (+{extra:.0f} µs)"
        print(line.rstrip())
    print()
    overhead = ratios[AGENT] - 1
    over_replay = statistics.median(
        a / r for a, r in zip(samples[AGENT], samples[REPLAYED], strict=True)
    )
    low, high = _interval([a / b for a, b in zip(samples[AGENT], bare, strict=True)])
    verdict = "PASS" if overhead <= TARGET else "FAIL"
    print(
        f"{verdict} agent overhead {overhead:.1%} (≤ {TARGET:.0%}; 90 % interval of the "
        f"median {low - 1:.1%} to {high - 1:.1%}); not judged: "
        f"bare with bodies replayed {ratios[REPLAYED] - 1:+.1%}, "
        f"agent over them {over_replay - 1:.1%}, "
        f"with a stream:delta hook {ratios[HOOKED] - 1:.1%}, "
        f"one reused Agent {ratios[REUSED] - 1:.1%}, "
        f"echo as a plain function {ratios[PLAIN] - 1:.1%}"
    )


# -- the burst: one long reply whose chunks arrive together --------------------


def _burst_body(chunks: int) -> bytes:
    def data(delta: str, finish: str = "null", usage: str = "null") -> bytes:
        return (
            'data: {"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,'
            f'"model":"bench","choices":[{{"index":0,"delta":{delta},'
            f'"finish_reason":{finish}}}],"usage":{usage}}}\n\n'
        ).encode()

    usage = f'{{"prompt_tokens":9,"completion_tokens":{chunks},"total_tokens":{9 + chunks}}}'
    return b"".join(
        [
            data('{"role":"assistant","content":""}'),
            data('{"content":"tok "}') * chunks,
            data("{}", '"stop"'),
            data("{}", "null", usage),
            b"data: [DONE]\n\n",
            b': {"cost":"0.0000188000","prompt_tokens":9,"completion_tokens":1}\n\n',
        ]
    )


def _burst_server(port_out: Any, chunks: int) -> None:
    body = _burst_body(chunks)
    reply = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"content-length: %d\r\n\r\n%b" % (len(body), body)
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                writer.write(reply)  # the whole reply in one write: a burst
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_out.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


async def measure_burst(rounds: int) -> None:
    """CPU per chunk of one burst reply: ``agent.stream`` against ``gateway.stream``."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=_burst_server, args=(send, BURST_CHUNKS), daemon=True)
    server.start()
    try:
        port = receive.recv()
        provider = Provider(
            name="bench-burst",
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key_env=None,
            dialect="alltoken",
            default_model="bench",
        )
        async with Gateway(provider, api_key=API_KEY) as gateway:

            async def agent_side() -> None:
                async for _ in Agent(model="bench", tools=[], gateway=gateway).stream("hi"):
                    pass

            async def gateway_side() -> None:
                messages = [{"role": "user", "content": "hi"}]
                async with gateway.stream(messages, model="bench") as stream:
                    async for _ in stream:
                        pass

            sides = {"gateway.stream": gateway_side, "agent.stream": agent_side}
            samples: dict[str, list[float]] = {name: [] for name in sides}
            for index in range(3 + rounds):
                order = list(sides) if index % 2 else list(sides)[::-1]
                for name in order:
                    start = time.process_time()
                    await sides[name]()
                    if index >= 3:
                        per_chunk = (time.process_time() - start) * 1e6 / BURST_CHUNKS
                        samples[name].append(per_chunk)
    finally:
        server.terminate()
        server.join(5)
    bare, agent = samples["gateway.stream"], samples["agent.stream"]
    ratio = statistics.median(a / b for a, b in zip(agent, bare, strict=True))
    print()
    print(
        f"burst: one reply of {BURST_CHUNKS:,} chunks arriving together, CPU µs per chunk, "
        f"{rounds} rounds (+3 warm-up), collector on"
    )
    for name, values in samples.items():
        print(f"{name:32} {statistics.median(values):10.2f}  {_spread(values)}")
    verdict = "PASS" if ratio <= BURST_TARGET else "FAIL"
    print(f"{verdict} agent.stream per chunk {ratio:.3f}x gateway.stream (≤ {BURST_TARGET}x)")


async def opcodes(runs: int) -> None:
    """Python opcodes per conversation, agent against bare: a count host noise barely moves.

    ``sys.settrace`` with opcode events counts every bytecode instruction run in a
    Python frame (not the C work beneath: sockets, the JSON codec, the HTTP parser), so
    the ratio shows what the agent's own code adds, step by step, without timing. Only
    how many network reads a reply takes varies between runs: the totals move by about
    1 %, the functions that read no stream not at all.
    """
    counts: Counter[tuple[str, str]] = Counter()

    def per_opcode(frame: Any, event: str, arg: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            counts[code.co_filename, code.co_name] += 1
        return per_opcode

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return per_opcode

    async with simulated_gateway() as (gateway, control, _):
        requests, _ = await capture(gateway, control)
        found: dict[str, Counter[tuple[str, str]]] = {}
        for name, work in (
            (BARE, lambda: run_bare(gateway, requests[0])),
            (AGENT, lambda: run_agent(gateway)),
        ):
            for _ in range(WARMUP):
                await work()
            counts.clear()
            for _ in range(runs):
                sys.settrace(on_call)
                try:
                    await work()
                finally:
                    sys.settrace(None)
            found[name] = Counter(counts)
    bare, agent = (sum(found[name].values()) / runs for name in (BARE, AGENT))
    print(f"Python opcodes per conversation, {runs} conversations each (not timed)")
    print(f"{BARE:32} {bare:10.0f}")
    print(f"{AGENT:32} {agent:10.0f}  {agent / bare:.3f}x (+{agent - bare:.0f})")
    print()
    print("where the agent's extra opcodes are, per conversation (agent minus bare):")
    difference = Counter(found[AGENT])
    difference.subtract(found[BARE])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for (filename, function), count in difference.most_common(15):
        print(f"{count / runs:8.0f}  {os.path.relpath(filename, root)}:{function}")


async def profile(runs: int) -> None:
    sim = SimulatorProcess()
    try:
        sim.wait_ready()
        provider = Provider(
            name="bench-sim", base_url=f"{sim.root}/v1", api_key_env=None, dialect="alltoken"
        )
        async with Gateway(provider, api_key=API_KEY) as gateway:
            for _ in range(WARMUP):
                await run_agent(gateway)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(runs):
                await run_agent(gateway)
            profiler.disable()
    finally:
        sim.stop()
    # Own time inside agent/ is small: the agent's cost is mostly in what it calls
    # (pydantic, asyncio), so the cumulative view of agent/ is the one that points.
    for title, order, restriction in (
        ("own time, everything", "tottime", ()),
        ("own time, src/alltoken_agent/agent/", "tottime", ("alltoken_agent/agent/",)),
        ("cumulative, src/alltoken_agent/agent/", "cumulative", ("alltoken_agent/agent/",)),
    ):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*restriction, 15)
        table = out.getvalue()
        print(f"== {title}: top 15, {runs} fresh-Agent conversations ==")
        print(table[table.index("   ncalls") :].rstrip())
        print()


async def only(variant: str, runs: int) -> None:
    """Run ``runs`` conversations of one side, untimed: for an outside counter (valgrind).

    The set-up (the simulator, one captured conversation, the bare sides' checks) is the
    same for any ``runs``: counting ``--rounds 0`` too and subtracting leaves the
    conversations' own work.
    """
    async with simulated_gateway() as (gateway, control, _):
        requests, _ = await capture(gateway, control)
        for index in range(runs):
            if variant == "agent":
                await run_agent(gateway)
            else:
                await run_bare(gateway, requests[0])
            if index % 50 == 0:  # keep the simulator's request log short
                await control.post("/_sim/reset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds")
    parser.add_argument("--rounds", type=int, help=f"rounds to time (default {ROUNDS})")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every round")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the agent path instead of timing"
    )
    parser.add_argument(
        "--opcodes",
        action="store_true",
        help="count Python opcodes per conversation (agent vs bare) instead of timing",
    )
    parser.add_argument(
        "--only",
        choices=["agent", "bare"],
        help="run --rounds conversations of one side, untimed (to count instructions outside)",
    )
    args = parser.parse_args()
    if args.only:
        asyncio.run(only(args.only, ROUNDS if args.rounds is None else args.rounds))
        return
    if args.profile:
        asyncio.run(profile(PROFILE_RUNS))
        return
    if args.opcodes:
        asyncio.run(opcodes(OPCODE_RUNS))
        return
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    asyncio.run(measure(rounds, verbose=args.verbose))
    asyncio.run(measure_burst(7 if args.quick else BURST_ROUNDS))


if __name__ == "__main__":
    main()
