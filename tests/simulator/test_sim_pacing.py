"""Paced streams keep their schedule: a late loop does not stretch the rest of the reply.

``stream_body`` is driven directly in this test's own event loop, which the test then
blocks, as a loaded machine delays the simulator's loop.
"""

from __future__ import annotations

import asyncio
import time

from alltoken_agent.simulator.sse import stream_body

DELAY = 0.05
CHUNKS = 10
BLOCK = 0.5


def test_chunks_after_a_stall_of_the_loop_catch_up_with_their_schedule() -> None:
    events = [f"data: {i}\n\n".encode() for i in range(CHUNKS)]

    async def read() -> tuple[list[bytes], float]:
        start = time.monotonic()
        got: list[bytes] = []
        async for piece in stream_body(events, [], fault=None, chunk_delay=DELAY, scope={}):
            if not got:
                time.sleep(BLOCK)  # the loop stands still, as under another process's load
            got.append(piece)
        return got, time.monotonic() - start

    got, took = asyncio.run(read())
    assert got == events
    # On schedule the last chunk is due (CHUNKS - 1) * DELAY = 0.45 s after the first, which
    # the block has passed: the rest come at once. A sleep after each chunk would take
    # BLOCK + 0.45 s.
    assert took < BLOCK + (CHUNKS - 1) * DELAY * 0.6


def test_an_unhurried_stream_keeps_its_pace() -> None:
    events = [f"data: {i}\n\n".encode() for i in range(4)]

    async def read() -> float:
        start = time.monotonic()
        async for _ in stream_body(events, [], fault=None, chunk_delay=DELAY, scope={}):
            pass
        return time.monotonic() - start

    assert asyncio.run(read()) >= 3 * DELAY * 0.95  # never early
