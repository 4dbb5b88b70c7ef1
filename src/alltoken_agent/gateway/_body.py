"""A streamed reply's body, one network read at a time, through as few layers as can be.

At hundreds of concurrent streams every layer between the socket and the SSE
decoder costs time on each read: httpx hands a body through four async generators.
A body the pool carries is read straight from aiohttp's buffer instead
(``_pool.direct_reader``); any other (another transport, an encoded body) through
httpx, which decodes it. The deadlines wrap the read itself (``ReplyClock.reads``),
not a generator around it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from alltoken_agent.gateway._deadline import ReplyClock
from alltoken_agent.gateway._pool import direct_reader

Read = Callable[[], Awaitable[bytes]]
"""The next piece of the body (waiting for one); b"" at its end."""


def body_reader(response: httpx.Response, clock: ReplyClock | None) -> Read:
    """The reads of ``response``'s body, within ``clock``'s deadlines when given.

    The caller owns the body from here on and closes the response when done.
    """
    read = direct_reader(response) or _through_httpx(response)
    return read if clock is None else clock.reads(read)


def _through_httpx(response: httpx.Response) -> Read:
    chunks = response.aiter_bytes()

    async def read() -> bytes:
        try:
            return await chunks.__anext__()
        except StopAsyncIteration:
            return b""

    return read


async def chunks(read: Read) -> AsyncIterator[bytes]:
    """The pieces of the body as an iterator (for the rare paths that want one)."""
    while raw := await read():
        yield raw
