"""The floor for the server's relay: an HTTP relay that only re-frames the gateway's bytes.

``python bench/relay_floor.py --port P --upstream http://127.0.0.1:SIM`` serves
``POST /v1/sessions/{id}/messages`` the way ``alltoken-agent serve`` answers with
``Accept: text/event-stream``, and nothing else: no auth, no store, no agent, no JSON
parsing. Each request becomes one streamed chat completion on a kept-alive upstream
connection (the same body the server's agent sends); each upstream ``data:`` line
goes back as an ``event: stream:delta`` (or ``stream:start`` for a chunk without
text) with the line's bytes as its data, and ``[DONE]`` as ``event: done``. Raw
asyncio streams on both sides, HTTP/1.1 with chunked replies.

``bench/server_load.py`` starts it in its own process and runs the same load
through it, so the table shows what any relay in Python pays (sockets, framing,
the event loop) next to what the server adds on top (auth, sessions, the agent,
events, the ledger).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from urllib.parse import urlsplit

MODEL = "minimax-m2.7"
INSTRUCTIONS = "You are a helpful assistant."
GATEWAY_KEY = "bench-gateway-key"


class Upstream:
    """Kept-alive HTTP/1.1 connections to the simulator."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer = self.idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
        return await asyncio.open_connection(self.host, self.port)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    """One request's path and body, or None at the end of the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return path, body


async def relay(upstream: Upstream, content: str, writer: asyncio.StreamWriter) -> None:
    """Stream one chat completion from upstream to ``writer``, re-framed."""
    body = json.dumps(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": content},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.7,
        }
    ).encode()
    up_reader, up_writer = await upstream.connection()
    up_writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\n"
        b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
        b"Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n"
        % (upstream.host.encode(), upstream.port, GATEWAY_KEY.encode(), len(body))
        + body
    )
    head = await up_reader.readuntil(b"\r\n\r\n")
    chunked = b"chunked" in head.lower()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    pending = b""
    while True:
        if chunked:
            size = int((await up_reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await up_reader.readexactly(size + 2)
            if size == 0:
                break
            pending += data[:-2]
        else:
            data = await up_reader.read(65536)
            if not data:
                break
            pending += data
        out = []
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: "):
                continue
            payload = line[6:]
            if payload == b"[DONE]":
                out.append(b'event: done\ndata: {"event":"done"}\n\n')
                continue
            # Text only: the role chunk's delta (`{"role":...,"content":""}`) is no token.
            name = b"stream:delta" if b'"delta":{"content":"' in payload else b"stream:start"
            out.append(b"event: " + name + b"\ndata: " + payload + b"\n\n")
        if out:
            frame = b"".join(out)
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    if chunked:
        upstream.idle.append((up_reader, up_writer))
    else:
        up_writer.close()


async def serve(port: int, upstream_url: str) -> None:
    """Serve until killed."""
    upstream = Upstream(upstream_url)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                path, body = request
                if path == "/healthz":
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    await writer.drain()
                    continue
                content = json.loads(body or b"{}").get("content", "hello")
                await relay(upstream, str(content), writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the simulator's URL")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.upstream))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
