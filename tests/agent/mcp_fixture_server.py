"""A small MCP server written with the SDK, for the MCP client tests.

Run as a script it serves stdio (``python tests/agent/mcp_fixture_server.py``);
``--crash`` instead writes numbered lines to stderr and exits 1, the way a server with
a missing dependency dies at start. The tests serve ``build()`` over streamable HTTP
in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image

CRASH_LINES = 30
"""Lines ``--crash`` writes to stderr before exiting."""

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def build() -> MCPServer[Any]:
    """The fixture server: arithmetic, echo, a failing tool, a slow one, a name clash,
    an image, what the process and the request carry, and a tool that adds a tool."""
    server: MCPServer[Any] = MCPServer("fixture", log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def fail() -> str:
        """Always fails."""
        raise ToolError("the fixture tool failed on purpose")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def calculate(expression: str) -> str:
        """Clashes with the agent's built-in calculate tool."""
        return f"fixture calculated {expression}"

    @server.tool()
    def picture() -> Image:
        """Return a one-pixel PNG."""
        return Image(data=PNG_1PX, format="png")

    @server.tool()
    def environment(name: str) -> str:
        """The value of an environment variable of the server process ('' when unset)."""
        return os.environ.get(name, "")

    @server.tool()
    def header(ctx: Context, name: str) -> str:
        """The value of an HTTP request header ('' when absent or not over HTTP)."""
        return (ctx.headers or {}).get(name.lower(), "")

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add a tool named `extra` and tell listening clients the tool list changed."""
        server.add_tool(lambda: "extra answer", name="extra", description="Added by grow.")
        await ctx.notify_tools_changed()
        return "grown"

    return server


def crash() -> None:
    for number in range(1, CRASH_LINES + 1):
        print(f"fixture stderr line {number}", file=sys.stderr)
    print("ModuleNotFoundError: No module named 'fixture_dependency'", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    if "--crash" in sys.argv:
        crash()
    build().run()
