"""One live connection to an MCP server, through the official SDK, in a task of its own.

anyio wants the task that enters the SDK's task groups to leave them too, while an agent
opens its servers in its first run and closes them in ``aclose()``, often from other
tasks. So a connection task enters the SDK's contexts, hands the connected client over,
and waits to be told to leave; any task of the same event loop may use the client.

A stdio server's stderr goes into a pipe whose last lines are kept (``StderrTail``), so a
server that fails to start is reported with what it said before dying.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Final, TextIO

from alltoken_agent._version import __version__
from alltoken_agent.errors import ConfigError, ToolError
from alltoken_agent.mcp_wire.servers import MCPServer, MCPServerError

if TYPE_CHECKING:
    from mcp.client.session import IncomingMessage, MessageHandlerFnT
    from mcp.types import CallToolResult
    from mcp.types import Tool as _ListedTool

    from mcp import Client

    ListedTool = _ListedTool
    """A tool as the server lists it."""
    Notice = IncomingMessage
    """What the server sends unasked: a notification, or a transport error."""

INSTALL_HINT: Final = "pip install 'alltoken-agent[mcp]'"
STDERR_TAIL_LINES: Final = 20
"""Lines of a stdio server's stderr quoted when it fails."""
MAX_LINE: Final = 1000
"""Bytes kept of one stderr line; a longer line is split."""

_HTTP_READ_TIMEOUT: Final = 300.0
"""The SDK's read timeout for streamed HTTP replies (raised to fit ``call_timeout``)."""
_LISTEN_ACK_TIMEOUT: Final = 5.0
"""Seconds to wait for a server to accept the tool-list change stream before going on."""

logger = logging.getLogger("alltoken_agent")


class MCPConnection:
    """A started MCP server (or an open HTTP session) and the SDK client talking to it."""

    def __init__(self, server: MCPServer, on_message: MessageHandlerFnT) -> None:
        """Prepare; nothing starts before ``open()``.

        Args:
            server: The server to start or connect to.
            on_message: Gets every notification the server sends (and transport errors).
        """
        self.server = server
        self._on_message = on_message
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._stderr: StderrTail | None = None

    @property
    def client(self) -> Client | None:
        """The connected SDK client, or None before ``open()`` and after ``close()``."""
        return self._client

    async def open(self) -> Client:
        """Start the server (or connect) and finish the MCP handshake.

        Raises:
            MCPServerError: Not done within ``startup_timeout``, the command could not
                run, the server exited, or the URL could not be reached.
            ConfigError: The ``mcp`` extra is not installed.
        """
        require_sdk()
        stderr = None
        if self.server.transport == "stdio":
            stderr = StderrTail(self.server.name, limit=STDERR_TAIL_LINES)
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        task = asyncio.create_task(self._run(ready, stop, stderr), name=f"mcp:{self.server.name}")
        try:
            client = await asyncio.wait_for(asyncio.shield(ready), self.server.startup_timeout)
        except BaseException as error:
            timed_out = not ready.done()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if ready.done() and not ready.cancelled():
                ready.exception()  # mark it retrieved: it is reported below
            if isinstance(error, asyncio.CancelledError):
                raise
            tail = await stderr.lines(wait=1.0) if stderr is not None else []
            raise self._start_error(error, timed_out=timed_out, tail=tail) from error
        self._client, self._task, self._stop, self._stderr = client, task, stop, stderr
        return client

    async def close(self) -> None:
        """Leave the SDK's contexts: a stdio server is stopped, an HTTP session ended."""
        task, stop = self._task, self._stop
        self._client = self._task = self._stop = self._stderr = None
        if task is not None and stop is not None:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)

    async def list_tools(self, *, max_pages: int) -> list[ListedTool]:
        """Every tool the server lists, following up to ``max_pages`` pages.

        Raises:
            TimeoutError: Not listed within ``list_timeout``.
            Exception: Whatever the SDK raised (see :func:`describe`).
        """
        import anyio

        client = self._client
        assert client is not None
        listed: list[ListedTool] = []
        cursor: str | None = None
        with anyio.fail_after(self.server.list_timeout):
            for _ in range(max_pages):
                page = await client.list_tools(cursor=cursor)
                listed.extend(page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
        return listed

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """Call the server's tool ``name`` (its own name) within ``call_timeout``.

        Raises:
            ToolError: The server is not running, did not answer in time, refused the
                call or failed; the message is for the model.
        """
        import anyio
        from mcp.types import CONNECTION_CLOSED

        from mcp import MCPError

        client = self._client
        label = f"MCP server {self.server.name!r}"
        if client is None:
            raise ToolError(f"{label} is not running, so tool {name} is unavailable")
        try:
            with anyio.fail_after(self.server.call_timeout):
                return await client.call_tool(name, arguments)
        except TimeoutError:
            raise ToolError(
                f"tool {name} of {label} did not answer within {self.server.call_timeout:g} s "
                "(its call_timeout)"
            ) from None
        except MCPError as error:
            if error.code == CONNECTION_CLOSED:
                raise ToolError(f"{label} closed the connection; tool {name} failed") from None
            raise ToolError(f"{label} rejected the call to {name}: {error.message}") from None
        except Exception as error:
            raise ToolError(f"{label} failed on {name}: {describe(error)}") from None

    async def stderr_tail(self, *, wait: float = 0.2) -> list[str]:
        """The last lines the server wrote to stderr (none for HTTP)."""
        return await self._stderr.lines(wait=wait) if self._stderr is not None else []

    async def _run(
        self, ready: asyncio.Future[Client], stop: asyncio.Event, stderr: StderrTail | None
    ) -> None:
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(await self._client_for(stack, stderr))
                if stderr is not None:
                    stderr.close_writer()  # the server has its copy; EOF comes when it exits
                await self._subscribe(stack, client)
                ready.set_result(client)
                await stop.wait()
        except Exception as error:
            if not ready.done():
                ready.set_exception(error)
            else:
                logger.warning("MCP server %r stopped: %s", self.server.name, describe(error))
        except BaseException:
            if not ready.done():
                ready.cancel()
            raise
        finally:
            if stderr is not None:
                stderr.close_writer()

    async def _client_for(self, stack: AsyncExitStack, stderr: StderrTail | None) -> Client:
        from mcp.client.stdio import stdio_client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.types import Implementation

        from mcp import Client, StdioServerParameters

        server = self.server
        if server.command is not None:
            assert stderr is not None
            env = {key: os.environ[key] for key in server.env_vars if key in os.environ}
            env.update(server.env)
            params = StdioServerParameters(
                command=server.command, args=list(server.args), env=env or None, cwd=server.cwd
            )
            transport = stdio_client(params, errlog=stderr.file)
        else:
            import httpx2

            read = max(_HTTP_READ_TIMEOUT, server.call_timeout)
            http = httpx2.AsyncClient(
                headers=dict(server.headers), timeout=httpx2.Timeout(30.0, read=read)
            )
            await stack.enter_async_context(http)  # the transport leaves a given client open
            transport = streamable_http_client(server.url or "", http_client=http)
        return Client(
            transport,
            message_handler=self._on_message,
            client_info=Implementation(name="alltoken-agent", version=__version__),
        )

    async def _subscribe(self, stack: AsyncExitStack, client: Client) -> None:
        """Open a tool-list change stream where the server needs one, before any listing.

        2026-07-28 servers tell of list changes only on a ``subscriptions/listen``
        stream; earlier ones tell unasked (and refuse to listen). Either way the notice
        reaches ``on_message``; nobody needs to read the stream (its events collapse).
        """
        import anyio
        from mcp.client.subscriptions import ListenNotSupportedError

        capability = client.server_capabilities.tools
        if capability is None or not capability.list_changed:
            return
        try:
            with anyio.move_on_after(_LISTEN_ACK_TIMEOUT):
                await stack.enter_async_context(client.listen(tools_list_changed=True))
        except ListenNotSupportedError:
            pass
        except Exception as error:  # the tools still work; only change notices are lost
            logger.debug("MCP server %r: no tool-list stream (%s)", self.server.name, error)

    def _start_error(
        self, error: BaseException, *, timed_out: bool, tail: list[str]
    ) -> MCPServerError:
        server = self.server
        label = f"MCP server {server.name!r} ({server.where})"
        root = root_error(error)
        if timed_out:
            message = (
                f"{label} did not finish starting within {server.startup_timeout:g} s "
                "(its startup_timeout)"
            )
        elif server.transport == "http":
            message = f"{label} could not be reached: {describe(error)}"
        elif isinstance(root, OSError):
            message = f"{label} could not be started: {describe(error)}; check its command"
        elif _closed(root):
            message = f"{label} exited before the MCP handshake finished"
        else:
            message = f"{label} failed during the MCP handshake: {describe(error)}"
        return MCPServerError(message, server=server.name, stderr_tail=tail)


class StderrTail:
    """A pipe for a server's stderr, read by a daemon thread into a ring of the last lines.

    The SDK hands a server's stderr to a file, so it gets the pipe's write end. Memory
    stays bounded however much a server writes: ``limit`` lines of ``MAX_LINE`` bytes.
    """

    def __init__(self, server: str, *, limit: int) -> None:
        read_fd, write_fd = os.pipe()
        self.server = server
        self.file: TextIO = os.fdopen(write_fd, "w", encoding="utf-8", errors="replace")
        """The write end, for the SDK's ``errlog``; closed once the server has its copy."""
        self._reader = os.fdopen(read_fd, "rb")
        self._lines: deque[str] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, name=f"mcp-stderr-{server}", daemon=True)
        self._thread.start()

    def close_writer(self) -> None:
        """Drop our copy of the write end, so the reader sees EOF when the server exits."""
        self.file.close()

    async def lines(self, *, wait: float) -> list[str]:
        """The kept lines, after waiting up to ``wait`` s for the server to stop writing."""
        self.close_writer()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while self._thread.is_alive() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        with self._lock:
            return list(self._lines)

    def _pump(self) -> None:
        try:
            with self._reader:
                while chunk := self._reader.readline(MAX_LINE):
                    line = chunk.decode("utf-8", "replace").rstrip("\r\n")
                    with self._lock:
                        self._lines.append(line)
                    logger.debug("MCP server %r stderr: %s", self.server, line)
        except (OSError, ValueError):  # the pipe broke or was closed under us
            return


def require_sdk() -> None:
    """Make sure the ``mcp`` extra is installed.

    Raises:
        ConfigError: It is not; the message says what to install.
    """
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"MCP servers need the official MCP SDK, which is not installed: {INSTALL_HINT}"
        ) from None


def root_error(error: BaseException) -> BaseException:
    """The first real error inside the (nested) exception groups of the SDK's task groups."""
    while True:
        inner = getattr(error, "exceptions", None)
        if not inner:
            return error
        error = next((e for e in inner if not isinstance(e, asyncio.CancelledError)), inner[0])


def describe(error: BaseException) -> str:
    """``Type: message`` of the root error, for messages."""
    root = root_error(error)
    text = str(root)
    return f"{type(root).__name__}: {text}" if text else type(root).__name__


def tools_changed(message: Notice) -> bool:
    """Whether ``message`` says the server's tool list changed."""
    from mcp.types import ToolListChangedNotification

    return isinstance(message, ToolListChangedNotification)


def _closed(error: BaseException) -> bool:
    from mcp.types import CONNECTION_CLOSED

    from mcp import MCPError

    return isinstance(error, MCPError) and error.code == CONNECTION_CLOSED
