"""CPU an idle process burns while it holds many open streams whose chunks do not arrive.

The server of ``sse_server.py`` runs in its own process and, for each request,
sends the headers and the role chunk, then nothing (``x-bench-hold``). The client
opens N streams (default 1500) at once, reads each to its first chunk, and then
waits on all of them; the CPU it uses over the next S seconds (default 10) of that
wait is the figure, per client:

- ``aiohttp``: bare ``aiohttp.ClientSession`` streams (the floor);
- ``ours``: ``alltoken_agent.Gateway.stream``, with ``[http] max_connections``
  raised to N (the default, 1000, would make the rest wait for a connection) and the
  config's default ``[timeouts]`` (its idle and total deadlines are one timer per
  stream, due minutes later).

An idle process should use next to nothing: no polling, no timer per read.

Then the memory one open stream holds, per client: ``tracemalloc`` traces the
process while M streams (default 200) are opened and held the same way, after one
whole stream has warmed the client (imports, the pool's session); the Python memory
they added, over M, is the figure (sockets' kernel buffers are not Python memory and
are not counted). ``--where`` also lists what holds it, by module.

Run ``python bench/idle_streams.py``; ``-n 500 -s 5`` for a quicker run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence

from sse_server import BenchServer, raise_file_limit
from stream_overhead import API_KEY, MESSAGES, MODEL, bench_headers, request_body

Opener = Callable[[asyncio.Event], Awaitable[None]]


async def aiohttp_streams(url: str, n: int, measure: Measure) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=n)
    async with aiohttp.ClientSession(
        connector=connector, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as session:

        async def one(opened: asyncio.Event) -> None:
            hold = opened is not WHOLE
            async with session.post(
                url + "/v1/chat/completions",
                json=request_body(3),
                headers=bench_headers(0, hold),
            ) as response:
                await response.content.readline()
                opened.set()
                await response.content.read()  # held: waits until the bench ends it

        await one(WHOLE)
        return await measure(n, one)


async def our_streams(url: str, n: int, measure: Measure) -> float:
    from alltoken_agent import Gateway, Provider
    from alltoken_agent.config import Config, HttpSettings

    provider = Provider(name="bench", base_url=url + "/v1", api_key_env=None, dialect="alltoken")
    config = Config(http=HttpSettings(max_connections=n))
    async with Gateway(provider, api_key=API_KEY, model=MODEL, config=config) as gateway:

        async def one(opened: asyncio.Event) -> None:
            hold = opened is not WHOLE
            stream = gateway.stream(MESSAGES, max_tokens=3, extra_headers=bench_headers(0, hold))
            async with stream:
                opened.set()  # the headers and the role chunk's bytes are in
                async for _ in stream:
                    pass

        await one(WHOLE)
        return await measure(n, one)


WHOLE = asyncio.Event()
"""Passed to ``one`` for the warm-up: a whole stream, not a held one."""

Measure = Callable[[int, Opener], Awaitable[float]]


async def open_all(n: int, one: Opener) -> list[asyncio.Task[None]]:
    """Open ``n`` held streams with ``one``; their tasks once every one is open."""
    events = [asyncio.Event() for _ in range(n)]
    tasks = [asyncio.ensure_future(one(event)) for event in events]
    opened = asyncio.gather(*(event.wait() for event in events))
    done, _ = await asyncio.wait({opened, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    if opened not in done:
        for task in done:
            task.result()  # a stream that failed to open says why
    await opened
    await asyncio.sleep(0.5)  # let the opening settle
    return tasks


async def close_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def idle_cpu(seconds: float) -> Measure:
    """The CPU seconds used while the streams sit idle for ``seconds``."""

    async def measure(n: int, one: Opener) -> float:
        tasks = await open_all(n, one)
        cpu = time.process_time()
        await asyncio.sleep(seconds)
        used = time.process_time() - cpu
        await close_all(tasks)
        return used

    return measure


def held_memory(where: int) -> Measure:
    """Bytes of Python memory per held stream; ``where``: list that many top modules."""

    async def measure(n: int, one: Opener) -> float:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot() if where else None
        base = tracemalloc.get_traced_memory()[0]
        tasks = await open_all(n, one)
        gc.collect()
        used = (tracemalloc.get_traced_memory()[0] - base) / n
        if before is not None:
            show_where(tracemalloc.take_snapshot().compare_to(before, "filename"), n, where)
        tracemalloc.stop()
        await close_all(tasks)
        return used

    return measure


def show_where(diff: list[tracemalloc.StatisticDiff], n: int, top: int) -> None:
    by_module: dict[str, int] = {}
    for stat in diff:
        name = stat.traceback[0].filename
        for marker in ("site-packages/", "lib/python3", "src/"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        by_module[name] = by_module.get(name, 0) + stat.size_diff
    for name, size in sorted(by_module.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{'':>10}{size / n / 1024:7.2f} KiB  {name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1500, help="open streams (default 1500)")
    parser.add_argument("-s", type=float, default=10.0, help="idle seconds measured (default 10)")
    parser.add_argument(
        "-m", type=int, default=200, help="streams held for the memory figure (default 200)"
    )
    parser.add_argument(
        "--where", type=int, default=0, metavar="K", help="list the K modules holding most"
    )
    args = parser.parse_args(argv)
    raise_file_limit()
    server = BenchServer()
    server.start()
    clients = (("aiohttp", aiohttp_streams), ("ours", our_streams))
    try:
        print(f"{args.n} open streams, no chunks arriving, CPU over {args.s:g} s of idle:")
        for name, run in clients:
            used = asyncio.run(run(server.url, args.n, idle_cpu(args.s)))
            print(f"{name:>8}: {used * 1000:8.1f} ms CPU ({used / args.s * 100:.2f} % of a core)")
        print(f"Python memory per open stream, {args.m} held (tracemalloc):")
        sizes = {}
        for name, run in clients:
            sizes[name] = asyncio.run(run(server.url, args.m, held_memory(args.where)))
            print(f"{name:>8}: {sizes[name] / 1024:8.2f} KiB")
        print(f"ours vs aiohttp: {sizes['ours'] / sizes['aiohttp']:.2f}×")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
