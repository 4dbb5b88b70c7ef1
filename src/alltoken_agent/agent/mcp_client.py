"""MCP servers as tools: the tools of stdio and streamable-HTTP MCP servers, for an agent.

``MCPToolset`` connects to one server (``MCPServer``) and offers its tools as ``Tool``
objects, whose ``run`` turns every failure of a call into an error result like any other
tool's. ``MCPTools`` does that for several servers on behalf of an agent: started on
first use, listed once and cached, closed with the agent. The official ``mcp`` SDK is an
optional extra (``alltoken-agent[mcp]``), imported only when a server starts.

The SDK itself is the wire's (``mcp_wire/connection.py``: the connection, listing and
calls); how the tools look to the model (their names, the text of their results) is
pure data shaping at the end of this module: it reads the SDK's result objects by
attribute.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

from alltoken_agent.agent.tools import Tool
from alltoken_agent.errors import ToolError, UserError
from alltoken_agent.mcp_wire.connection import MCPConnection, describe, tools_changed
from alltoken_agent.mcp_wire.servers import MCPServer, MCPServerError

if TYPE_CHECKING:
    from alltoken_agent.mcp_wire.connection import ListedTool, Notice

_MAX_PAGES: Final = 100
"""Pages of a tools listing followed; a cursor that never ends cannot hang a run."""
MAX_NAME: Final = 64
"""The longest tool name the OpenAI function-calling schema accepts."""

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")

logger = logging.getLogger("alltoken_agent")


class MCPToolset:
    """One MCP server and its tools; ``async with`` starts and stops it.

    ``tools()`` starts the server when needed, lists its tools once and keeps them until
    the server says the list changed (``notifications/tools/list_changed``).
    """

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._connection = MCPConnection(server, self._on_message)
        self._lock = asyncio.Lock()
        self._listing: list[ListedTool] | None = None
        self._generation = 0
        self._wrapped: tuple[int, frozenset[str], list[Tool]] | None = None

    async def __aenter__(self) -> MCPToolset:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start the server (or connect to it); nothing happens when it runs already.

        Raises:
            MCPServerError: It did not start within ``startup_timeout``, exited, or
                could not be reached; the message quotes the end of its stderr.
            ConfigError: The ``mcp`` extra is not installed.
        """
        async with self._lock:
            if self._connection.client is None:
                await self._connection.open()

    async def tools(self, *, reserved: Collection[str] = ()) -> list[Tool]:
        """The server's tools as ``Tool`` objects; the first call starts the server.

        Args:
            reserved: Names already taken (the agent's own tools, earlier servers'
                tools): such a tool is offered as ``PREFIX__name`` instead.

        Raises:
            MCPServerError: The server did not start or could not list its tools, or
                both names of a tool are taken.
        """
        await self.start()
        async with self._lock:
            generation = self._generation
            listing = self._listing
            if listing is None:
                listing = await self._list()
                if generation == self._generation:  # no change notice came meanwhile
                    self._listing = listing
            key = frozenset(reserved)
            if self._wrapped is None or self._wrapped[:2] != (generation, key):
                self._wrapped = (generation, key, self._wrap_all(listing, key))
            return list(self._wrapped[2])

    def invalidate(self) -> None:
        """Forget the listed tools; the next ``tools()`` lists them again."""
        self._generation += 1
        self._listing = None

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Call the server's tool ``name`` (its own name) and return the result as text.

        Raises:
            ToolError: The tool reported an error, the call took longer than
                ``call_timeout``, or the server failed; the message is for the model.
        """
        result = await self._connection.call_tool(name, dict(arguments))
        text = render_result(result)
        if result.is_error:
            label = f"MCP server {self.server.name!r}"
            raise ToolError(text or f"tool {name} of {label} failed without a message")
        return text

    async def aclose(self) -> None:
        """Stop the server (or end the HTTP session); ``tools()`` would start it again."""
        async with self._lock:
            self._listing = self._wrapped = None
            await self._connection.close()

    async def _on_message(self, message: Notice) -> None:
        if tools_changed(message):
            self.invalidate()

    async def _list(self) -> list[ListedTool]:
        try:
            return await self._connection.list_tools(max_pages=_MAX_PAGES)
        except TimeoutError:
            reason = f"did not list its tools within {self.server.list_timeout:g} s (list_timeout)"
        except Exception as error:
            reason = f"could not list its tools: {describe(error)}"
        raise MCPServerError(
            f"MCP server {self.server.name!r} ({self.server.where}) {reason}",
            server=self.server.name,
            stderr_tail=await self._connection.stderr_tail(),
        )

    def _wrap_all(self, listing: list[ListedTool], reserved: frozenset[str]) -> list[Tool]:
        prefix = safe_name(self.server.prefix or self.server.name)
        taken = set(reserved)
        wrapped = []
        for listed in listing:
            name = exposed_name(listed.name, prefix, taken)
            if name is None:
                raise MCPServerError(
                    f"MCP server {self.server.name!r} offers a tool {listed.name!r} whose "
                    f"names {safe_name(listed.name)!r} and {prefix}__... are both taken; "
                    "give the server another prefix",
                    server=self.server.name,
                )
            try:
                wrapped.append(self._wrap(listed, name))
            except UserError as error:  # a schema our Tool cannot take; the others still can
                logger.warning("MCP server %r: skipped tool %r: %s", self.server.name, name, error)
                continue
            taken.add(name)
        return wrapped

    def _wrap(self, listed: ListedTool, name: str) -> Tool:
        original = listed.name

        async def call(arguments: dict[str, Any]) -> str:
            return await self.call_tool(original, arguments)

        definition = {
            "name": name,
            "description": listed.description or listed.title or "",
            "parameters": parameters_schema(listed.input_schema),
        }
        # No timeout of its own: call_tool applies call_timeout and names the setting.
        return Tool.from_definition(definition, call, timeout=None)


class MCPTools:
    """The tools of several MCP servers, for one agent; servers start on first use.

    ``tools()`` starts the servers not running yet (together), lists each one's tools
    (cached per server) and resolves name clashes in server order. ``aclose()`` stops
    them all. ``async with`` starts them at once instead.
    """

    def __init__(self, servers: Iterable[MCPServer]) -> None:
        """Hold ``servers``; nothing starts yet.

        Raises:
            UserError: Two servers share a name.
        """
        self.toolsets = [MCPToolset(server) for server in servers]
        names = [toolset.server.name for toolset in self.toolsets]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise UserError(f"MCP server names must differ: {', '.join(duplicates)}")

    async def __aenter__(self) -> MCPTools:
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start every server not running yet, concurrently.

        Raises:
            MCPServerError: A server did not start (the first failure in server order).
        """
        outcomes = await asyncio.gather(
            *(toolset.start() for toolset in self.toolsets), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def tools(self, *, reserved: Collection[str] = ()) -> list[Tool]:
        """Every server's tools; a name in ``reserved`` or an earlier server's is prefixed.

        Raises:
            MCPServerError: A server did not start or could not list its tools.
        """
        await self.start()
        taken = set(reserved)
        found: list[Tool] = []
        for toolset in self.toolsets:
            tools = await toolset.tools(reserved=taken)
            taken.update(tool.name for tool in tools)
            found.extend(tools)
        return found

    async def aclose(self) -> None:
        """Stop every server."""
        await asyncio.gather(*(toolset.aclose() for toolset in self.toolsets))


@asynccontextmanager
async def open_mcp_tools(
    servers: Iterable[MCPServer], *, reserved: Collection[str] = ()
) -> AsyncIterator[list[Tool]]:
    """Start ``servers``, yield their tools, and stop the servers on exit.

    For front ends that keep one set of tools for a whole session (the TUI). With no
    servers it yields ``[]`` and does not need the SDK.
    """
    async with MCPTools(servers) as mcp:
        yield await mcp.tools(reserved=reserved)


# How the tools look to the model: names and result text.
def safe_name(name: str) -> str:
    """``name`` with every character a tool name may not hold replaced by ``_``, cut to 64."""
    return _UNSAFE.sub("_", name)[:MAX_NAME] or "_"


def exposed_name(name: str, prefix: str, taken: Collection[str]) -> str | None:
    """The name the model sees for MCP tool ``name``, or None when every choice is taken.

    The tool keeps its own name (made safe) unless an earlier tool has it; then it is
    ``PREFIX__name``, so the agent's own tools always keep theirs.
    """
    plain = safe_name(name)
    if plain not in taken:
        return plain
    prefixed = safe_name(f"{prefix}__{name}")
    return prefixed if prefixed not in taken else None


def parameters_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """An MCP ``inputSchema`` as a function's ``parameters``: an object with properties."""
    parameters = dict(schema or {})
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    return parameters


def render_result(result: Any) -> str:
    """The text the model gets for a ``CallToolResult``.

    Text blocks are joined by blank lines; when there is no text, structured content is
    sent as JSON. Images, audio and binary resources are summarised (type and size),
    never sent as base64: a tool message is text, and base64 would only burn tokens.
    """
    parts = [_render_block(block) for block in result.content]
    texts = [part for part in parts if part]
    has_text = any(getattr(block, "type", None) == "text" for block in result.content)
    structured = result.structured_content
    if structured is not None and not has_text:
        texts.insert(0, json.dumps(structured, ensure_ascii=False, default=str))
    return "\n\n".join(texts)


def _render_block(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_decoded_size(block.data)} bytes, not shown]"
    if kind == "resource_link":
        return f"[resource link: {block.uri} ({block.name})]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return text
        mime = resource.mime_type or "application/octet-stream"
        size = _decoded_size(getattr(resource, "blob", ""))
        return f"[resource {resource.uri}: {mime}, {size} bytes, not shown]"
    return f"[{kind or 'unknown'} content, not shown]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)
