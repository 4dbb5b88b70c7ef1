"""A loopback HTTP server that answers every request with canned bytes.

The simulator always puts the same request id in the body and in the header and
always sends usage on its own chunk; these tests need a host that does neither,
so they script the exact bytes here (still real HTTP, parsed by our client).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def http_response(status: int, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 response with a Content-Length."""
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def sse(*events: str) -> bytes:
    """An SSE body: each item is one line (``data: ...`` or ``: comment``) then a blank line."""
    return "".join(f"{event}\n\n" for event in events).encode()


@asynccontextmanager
async def canned_server(
    response: bytes | list[bytes], seen: list[tuple[bytes, bytes]] | None = None
) -> AsyncIterator[str]:
    """Serve ``response`` to every request; yields the base URL (``.../v1``).

    A list is served in order, one per request, its last one from then on. ``seen``
    gets each request as it arrived: its head (request line and headers) and body.
    """
    replies = list(response) if isinstance(response, list) else [response]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                if seen is not None:
                    seen.append((head, body))
                writer.write(replies.pop(0) if len(replies) > 1 else replies[0])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()
