"""The SSE server the stream benches talk to, in a child process of its own.

It answers ``POST /v1/chat/completions`` in AllToken's wire format: role chunk, N
content chunks (``max_tokens``), finish chunk, usage chunk, ``data: [DONE]``, then the
cost comment. ``x-bench-pace: MS`` spaces the content chunks out, one socket write
each; without it the body goes out in a few large writes. ``x-bench-hold`` sends the
headers and the role chunk, then nothing until the client leaves. It counts the TCP
connections it accepts.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
from dataclasses import dataclass
from typing import Any

WRITES_PER_BODY = 4
"""Socket writes (HTTP chunks) that carry one burst body."""

_PREFIX = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"bench",'
_COST_COMMENT = (
    b': {"cost":"0.0000188000","input_price":"0.0002000000","output_price":"0.0012500000",'
    b'"prompt_tokens":19,"completion_tokens":12}\n\n'
)


def _data(payload: str) -> bytes:
    return f"data: {payload}\n\n".encode()


_ROLE = _data(
    _PREFIX + '"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    '"finish_reason":null}],"usage":null}'
)
_CONTENT = _data(
    _PREFIX + '"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}],'
    '"usage":null}'
)
_FINISH = _data(_PREFIX + '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}')
_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
)


def _tail(n: int) -> bytes:
    usage = _data(
        _PREFIX + f'"choices":[],"usage":{{"prompt_tokens":19,"completion_tokens":{n},'
        f'"total_tokens":{19 + n}}}}}'
    )
    return b"".join([_FINISH, usage, b"data: [DONE]\n\n", _COST_COMMENT])


def _frame(piece: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(piece), piece)


def burst_frames(n: int) -> list[bytes]:
    """The head plus the whole body cut into a few chunked-encoding frames."""
    body = b"".join([_ROLE, _CONTENT * n, _tail(n)])
    step = -(-len(body) // WRITES_PER_BODY)
    frames = [_HEAD] + [_frame(body[i : i + step]) for i in range(0, len(body), step)]
    frames[-1] += b"0\r\n\r\n"
    return frames


async def _serve(port_out: Any, accepted: Any) -> None:
    cache: dict[int, list[bytes]] = {}
    content = _frame(_CONTENT)
    not_found = (
        b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.value += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, pace, hold = 0, 0.0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"x-bench-pace":
                        pace = float(value) / 1000
                    elif name == b"x-bench-hold":
                        hold = True
                body = await reader.readexactly(length) if length else b""
                if not head.startswith(b"POST /v1/chat/completions "):
                    writer.write(not_found)
                    continue
                n = int(json.loads(body).get("max_tokens") or 100)
                if hold:  # headers and the role chunk, then nothing until the client leaves
                    writer.write(_HEAD + _frame(_ROLE))
                    await reader.read()
                    return
                if not pace:
                    for frame in cache.get(n) or cache.setdefault(n, burst_frames(n)):
                        writer.write(frame)
                    await writer.drain()
                    continue
                writer.write(_HEAD + _frame(_ROLE))
                for _ in range(n):
                    await asyncio.sleep(pace)
                    writer.write(content)
                writer.write(_frame(_tail(n)) + b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port_out.send(server.sockets[0].getsockname()[1])
    port_out.close()
    async with server:
        await server.serve_forever()


def _server_main(port_out: Any, accepted: Any) -> None:
    raise_file_limit()
    asyncio.run(_serve(port_out, accepted))


def raise_file_limit() -> None:
    """Let this process hold as many sockets as its hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class BenchServer:
    """The SSE server in a child process, with its count of accepted TCP connections."""

    process: Any = None
    accepted: Any = None
    url: str = ""

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        self.accepted = ctx.Value("q", 0, lock=False)
        self.process = ctx.Process(
            target=_server_main, args=(send, self.accepted), daemon=True, name="sse-server"
        )
        self.process.start()
        send.close()
        try:
            if not receive.poll(30):
                raise EOFError
            port = receive.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("the bench server did not start (see its traceback above)") from None
        self.url = f"http://127.0.0.1:{port}"

    @property
    def connections(self) -> int:
        return int(self.accepted.value)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.join(5)
