"""Serve an MCP server over stdio or streamable HTTP, inside the caller's event loop.

Both run in the loop that opened the gateway, so the gateway's pooled connections are
used where they were made. Nothing here writes to stdout: on stdio, stdout is the
protocol stream.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer

from alltoken_agent.mcp.jsonrpc import serve_stdio_answering_errors

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MCP_PATH = "/mcp"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve ``server`` on this process's stdin and stdout until the client hangs up.

    A line that is not a JSON-RPC message gets its JSON-RPC error back (the SDK alone
    drops it, leaving the client waiting forever).
    """
    await serve_stdio_answering_errors(server)


async def serve_http(
    server: MCPServer[Any],
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    path: str = MCP_PATH,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/path`` until stopped.

    Args:
        server: The MCP server.
        host: Interface to bind. On a loopback host the SDK checks Host and Origin
            headers (DNS-rebinding protection).
        port: TCP port; 0 picks a free one, reported to ``on_ready``.
        path: The endpoint path.
        on_ready: Called with the endpoint URL once the socket listens.
        stop: Set it to shut the server down (Ctrl-C does too).
    """
    app = server.streamable_http_app(streamable_http_path=path, host=host)
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        access_log=False,
        log_level="warning",
        lifespan="on",
        ws="none",
        # h11 bounds a request's head (16 KiB); uvicorn would pick httptools when it is
        # installed (the server extra), whose parser keeps headers without end.
        http="h11",
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    web = uvicorn.Server(config)
    watcher = asyncio.create_task(_watch(web, sock, path, on_ready, stop))
    try:
        await web.serve(sockets=[sock])
    finally:
        watcher.cancel()
        sock.close()


async def _watch(
    web: uvicorn.Server,
    sock: socket.socket,
    path: str,
    on_ready: Callable[[str], None] | None,
    stop: asyncio.Event | None,
) -> None:
    while not web.started:
        if web.should_exit:
            return
        await asyncio.sleep(0.01)
    if on_ready is not None:
        on_ready(endpoint_url(sock, path))
    if stop is not None:
        await stop.wait()
        web.should_exit = True


def endpoint_url(sock: socket.socket, path: str = MCP_PATH) -> str:
    """The URL clients use for a listening socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
