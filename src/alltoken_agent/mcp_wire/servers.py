"""MCP servers an agent may use: how to reach each one, its timeouts, and its errors.

``MCPServer`` is the value the core works with; ``MCPServerSettings`` (config.py) is the
same thing parsed from a ``[mcp_servers.NAME]`` table of the config file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from alltoken_agent.config import Config, MCPServerSettings
from alltoken_agent.errors import ConfigError, UserError

DEFAULT_STARTUP_TIMEOUT: Final = 30.0
"""Seconds a server may take to start (or accept the connection) and finish the handshake.
Generous: ``npx``/``uvx`` servers often download themselves on their first start."""
DEFAULT_CALL_TIMEOUT: Final = 120.0
"""Seconds one tool call may take: MCP tools run builds, searches and browsers."""
DEFAULT_LIST_TIMEOUT: Final = 30.0
"""Seconds a server may take to list its tools."""


class MCPServerError(ConfigError):
    """An MCP server could not be started, reached or listed.

    A ``ConfigError``: the fix is nearly always in the server's entry (command, URL,
    environment, timeouts), and a run cannot go on without the tools it was given.
    Single tool calls never raise it; their failures become error results.

    Attributes:
        server: The server's name.
        stderr_tail: The last lines the server wrote to stderr (stdio servers only).
    """

    def __init__(self, message: str, *, server: str, stderr_tail: Sequence[str] = ()) -> None:
        self.server = server
        self.stderr_tail = list(stderr_tail)
        if stderr_tail:
            message += f"\nlast {len(stderr_tail)} lines of its stderr:\n" + "\n".join(
                f"  | {line}" for line in stderr_tail
            )
        super().__init__(message)


@dataclass(frozen=True, repr=False)
class MCPServer:
    """An MCP server whose tools an agent may call: a command to start, or a URL.

    Example:
        ```python
        files = MCPServer("files", command="npx", args=["-y", "server-filesystem", "."])
        search = MCPServer("search", url="https://mcp.example.com/mcp", call_timeout=300)
        agent = Agent(mcp_servers=[files, search])
        ```
    """

    name: str
    """Names the server in errors, and is the default ``prefix``."""
    _: KW_ONLY
    command: str | None = None
    """The program to start; its stdin and stdout carry MCP (stdio). Excludes ``url``."""
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Variables set for the server. Besides them it gets only ``HOME``, ``LOGNAME``,
    ``PATH``, ``SHELL``, ``TERM`` and ``USER`` from this process (the SDK's rule)."""
    env_vars: Sequence[str] = ()
    """Variables passed on from this process's environment when set, e.g. a token."""
    cwd: str | Path | None = None
    url: str | None = None
    """The streamable-HTTP endpoint, e.g. ``https://host/mcp``. Excludes ``command``."""
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    """HTTP headers sent with every request, e.g. ``Authorization``."""
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    """Seconds to start (or connect) and finish the handshake; 30 by default."""
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    """Seconds one tool call may take before it becomes an error result; 120 by default."""
    list_timeout: float = DEFAULT_LIST_TIMEOUT
    """Seconds to list the tools; 30 by default."""
    prefix: str | None = None
    """A tool whose name is taken is offered as ``PREFIX__name``; None means ``name``."""

    def __post_init__(self) -> None:
        if not self.name:
            raise UserError("an MCP server needs a name")
        if (self.command is None) == (self.url is None):
            raise UserError(
                f"MCP server {self.name!r} needs exactly one of command (stdio) or url "
                "(streamable HTTP)"
            )
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise UserError(f"the url of MCP server {self.name!r} must start with http(s)://")
        for setting in ("startup_timeout", "call_timeout", "list_timeout"):
            if not getattr(self, setting) > 0:
                raise UserError(f"{setting} of MCP server {self.name!r} must be positive")
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env_vars", tuple(self.env_vars))
        object.__setattr__(self, "env", dict(self.env))
        object.__setattr__(self, "headers", dict(self.headers))

    @classmethod
    def from_settings(cls, name: str, settings: MCPServerSettings) -> MCPServer:
        """The server of a ``[mcp_servers.NAME]`` table of the config file."""
        return cls(
            name,
            command=settings.command,
            args=settings.args,
            env={key: value.get_secret_value() for key, value in settings.env.items()},
            env_vars=settings.env_vars,
            cwd=settings.cwd,
            url=settings.url,
            headers={key: value.get_secret_value() for key, value in settings.headers.items()},
            startup_timeout=settings.startup_timeout,
            call_timeout=settings.call_timeout,
            list_timeout=settings.list_timeout,
            prefix=settings.prefix,
        )

    @property
    def transport(self) -> Literal["stdio", "http"]:
        """``stdio`` for a command, ``http`` for a URL."""
        return "stdio" if self.command is not None else "http"

    @property
    def where(self) -> str:
        """The command line or the URL, for messages; never a header, variable or query."""
        if self.command is not None:
            import shlex  # a message's need, not the import's (chat loads this module)

            return shlex.join([self.command, *self.args])
        parts = urlsplit(self.url or "")
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"

    def __repr__(self) -> str:
        return f"MCPServer({self.name!r}, {self.transport}: {self.where!r})"


def servers_from_config(config: Config, names: Iterable[str]) -> list[MCPServer]:
    """The servers ``names`` of the config file's ``[mcp_servers.NAME]`` tables, in order.

    Raises:
        UserError: A name is not configured; the message lists the configured ones.
    """
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in config.mcp_servers]
    if unknown:
        known = ", ".join(sorted(config.mcp_servers)) or "none"
        raise UserError(
            f"unknown MCP server {', '.join(map(repr, unknown))}; configured: {known} "
            "(add a [mcp_servers.NAME] table to the config file)"
        )
    return [MCPServer.from_settings(name, config.mcp_servers[name]) for name in wanted]
