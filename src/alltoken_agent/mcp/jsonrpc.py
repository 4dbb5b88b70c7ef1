"""MCP over stdio that answers malformed JSON-RPC lines with the JSON-RPC 2.0 error.

The SDK's stdio transport reads each line, and when one is not a JSON-RPC message it
passes the validation exception on, where the server drops it: a client that sent
``{bad json`` or ``{"id": 3}`` waits forever. JSON-RPC 2.0 (section 5.1) says a parse
error is answered with -32700 and an invalid request with -32600, both with ``id``
null when it cannot be read. A request for an unknown method already gets -32601
from the SDK.

This sits between the SDK's transport and its server: every line the transport reads
is remembered, and each exception the transport passes on (one per bad line, in
order) is matched to its line and answered on the transport's own write stream, so
the error reply never interleaves with another reply on stdout.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections import deque
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError, JSONRPCNotification

RequestId = int | str | None


class _RememberedLines(anyio.AsyncFile[str]):
    """Stdin as the SDK reads it, keeping each line until its message is handled."""

    def __init__(self, lines: deque[str]) -> None:
        # A duplicate of fd 0, never closed: a worker thread may still be blocked in a
        # read on it when the server stops (the SDK keeps its own copy open likewise).
        raw = os.fdopen(os.dup(sys.stdin.fileno()), "rb", closefd=False)
        super().__init__(io.TextIOWrapper(raw, encoding="utf-8", errors="replace"))
        self._lines = lines

    async def readline(self) -> str:
        """The next line, also remembered for the error reply should it be malformed."""
        line = await super().readline()
        if line:
            self._lines.append(line)
        return line


def error_reply(line: str) -> JSONRPCError | None:
    """The JSON-RPC error answering a line that is not a valid message, or None for no reply.

    Blank lines and malformed *responses* (no ``method``, but a ``result`` or
    ``error``) get no reply: answering a response could start two peers answering
    each other's errors forever.
    """
    if not line.strip():
        return None
    try:
        data: Any = json.loads(line)
    except ValueError:
        return _error(None, PARSE_ERROR, "Parse error")
    if isinstance(data, list):
        return _error(None, INVALID_REQUEST, "Invalid Request: batches are not supported")
    if not isinstance(data, dict):
        return _error(None, INVALID_REQUEST, "Invalid Request: not a JSON object")
    if "method" not in data and ("result" in data or "error" in data):
        return None
    return _error(_request_id(data), INVALID_REQUEST, "Invalid Request")


def _id_on_notification(item: SessionMessage, line: str) -> bool:
    """Whether the SDK took a request with an unusable ``id`` (null, 1.5, true) for a notification.

    JSON-RPC 2.0 (section 4.1): a message with an ``id`` member is not a notification,
    and MCP allows only a string or an integer there. Passed on, it would be dropped
    and its sender would wait forever; it is an invalid request instead.
    """
    if not isinstance(item.message, JSONRPCNotification):
        return False
    try:
        data = json.loads(line)
    except ValueError:
        return False
    return isinstance(data, dict) and "id" in data


def _request_id(data: dict[str, Any]) -> RequestId:
    value = data.get("id")
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None  # JSON-RPC 2.0 section 5: null when the id cannot be read


def _error(request_id: RequestId, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


async def serve_stdio_answering_errors(server: MCPServer[Any]) -> None:
    """Serve ``server`` on stdin and stdout, answering malformed lines with their error."""
    lines: deque[str] = deque()
    # The SDK has no public way to run an MCPServer on streams of our own.
    lowlevel = server._lowlevel_server
    async with stdio_server(stdin=_RememberedLines(lines)) as (read_stream, write_stream):
        checked, to_server = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def sort_lines() -> None:
            async with checked:
                async for item in read_stream:
                    line = lines.popleft() if lines else ""
                    if not isinstance(item, Exception) and not _id_on_notification(item, line):
                        await checked.send(item)
                        continue
                    reply = error_reply(line)
                    if reply is not None:
                        await write_stream.send(SessionMessage(reply))

        async with anyio.create_task_group() as group:
            group.start_soon(sort_lines)
            await lowlevel.run(to_server, write_stream, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()
