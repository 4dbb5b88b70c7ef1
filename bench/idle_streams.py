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

An idle process should use next to nothing: no polling, no timer per read. Run
``python bench/idle_streams.py``; ``-n 500 -s 5`` for a quicker run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

from sse_server import BenchServer, raise_file_limit
from stream_overhead import API_KEY, MESSAGES, MODEL, bench_headers, request_body


async def aiohttp_streams(url: str, n: int, seconds: float) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=n)
    async with aiohttp.ClientSession(
        connector=connector, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as session:

        async def one(opened: asyncio.Event) -> None:
            async with session.post(
                url + "/v1/chat/completions", json=request_body(3), headers=bench_headers(0, True)
            ) as response:
                await response.content.readline()
                opened.set()
                await response.content.read()  # waits until the bench ends it

        return await hold(n, seconds, one)


async def our_streams(url: str, n: int, seconds: float) -> float:
    from alltoken_agent import Gateway, Provider
    from alltoken_agent.config import Config, HttpSettings

    provider = Provider(name="bench", base_url=url + "/v1", api_key_env=None, dialect="alltoken")
    config = Config(http=HttpSettings(max_connections=n))
    async with Gateway(provider, api_key=API_KEY, model=MODEL, config=config) as gateway:

        async def one(opened: asyncio.Event) -> None:
            stream = gateway.stream(MESSAGES, max_tokens=3, extra_headers=bench_headers(0, True))
            async with stream:
                opened.set()  # the headers and the role chunk's bytes are in
                async for _ in stream:
                    pass

        return await hold(n, seconds, one)


async def hold(n: int, seconds: float, one: Any) -> float:
    """Open ``n`` streams with ``one``; the CPU seconds used while they then sit idle."""
    events = [asyncio.Event() for _ in range(n)]
    tasks = [asyncio.ensure_future(one(event)) for event in events]
    opened = asyncio.gather(*(event.wait() for event in events))
    done, _ = await asyncio.wait({opened, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    if opened not in done:
        for task in done:
            task.result()  # a stream that failed to open says why
    await opened
    await asyncio.sleep(0.5)  # let the opening settle
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    used = time.process_time() - cpu
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return used


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1500, help="open streams (default 1500)")
    parser.add_argument("-s", type=float, default=10.0, help="idle seconds measured (default 10)")
    args = parser.parse_args(argv)
    raise_file_limit()
    server = BenchServer()
    server.start()
    try:
        print(f"{args.n} open streams, no chunks arriving, CPU over {args.s:g} s of idle:")
        for name, run in (("aiohttp", aiohttp_streams), ("ours", our_streams)):
            used = asyncio.run(run(server.url, args.n, args.s))
            print(f"{name:>8}: {used * 1000:8.1f} ms CPU ({used / args.s * 100:.2f} % of a core)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
