"""Chat's transport (gateway/_asyncio_transport.py) against httpx's own, per streamed chunk.

``chat`` sends its requests on a small h11-on-asyncio transport instead of httpx's
(httpcore with anyio), which it does not import before its request. This checks that
the start-up saving costs nothing while a reply streams: one loopback server streams
the same chunked SSE reply to a client on each transport, in the same process, and the
CPU time (``time.process_time``: client and server together, the server's share being
the same for both) per chunk is compared. Rounds alternate between the transports and
the median of each is reported, with the ratio ours / httpx's (below 1: ours is cheaper).

Run ``python bench/chat_transport.py`` (``--chunks``, ``--rounds`` to change the load).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # no CLI client import

import httpx  # noqa: E402

from alltoken_agent.gateway._asyncio_transport import AsyncioTransport  # noqa: E402

_CHUNK = b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n'


async def _serve(chunks: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    framed = b"%x\r\n%b\r\n" % (len(_CHUNK), _CHUNK)
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            for index in range(chunks):
                writer.write(framed)
                if index % 10 == 9:  # a few chunks per network read, as a gateway sends them
                    await writer.drain()
                    await asyncio.sleep(0)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except asyncio.CancelledError:  # the run is over: an idle connection's handler ends quietly
        pass
    finally:
        writer.close()


async def _measure(
    transports: dict[str, Callable[[], httpx.AsyncBaseTransport]], chunks: int, rounds: int
) -> dict[str, list[float]]:
    server = await asyncio.start_server(lambda r, w: _serve(chunks, r, w), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    clients = {name: httpx.AsyncClient(transport=make()) for name, make in transports.items()}
    results: dict[str, list[float]] = {name: [] for name in transports}
    try:
        for index in range(rounds + 2):  # two warm-up rounds
            for name, client in clients.items():
                started = time.process_time()
                async with client.stream("GET", url) as response:
                    async for _ in response.aiter_raw():
                        pass
                used = time.process_time() - started
                if index >= 2:
                    results[name].append(used / chunks * 1e6)
    finally:
        for client in clients.values():
            await client.aclose()
        server.close()
        await server.wait_closed()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=3000, help="chunks per reply")
    parser.add_argument("--rounds", type=int, default=15, help="timed replies per transport")
    args = parser.parse_args()
    transports: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {
        "httpx's transport (httpcore)": httpx.AsyncHTTPTransport,
        "chat's transport (h11 on asyncio)": AsyncioTransport,
    }
    results = asyncio.run(_measure(transports, args.chunks, args.rounds))
    print(
        f"CPU µs per streamed chunk (client + loopback server), {args.chunks} chunks a reply, "
        f"median of {args.rounds} replies each:"
    )
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, median in medians.items():
        print(f"  {name:<36} {median:6.2f}")
    floor, ours = medians.values()
    print(f"ratio chat's / httpx's: {ours / floor:.2f}x")


if __name__ == "__main__":
    main()
