"""Build the MCP server: the tools over one gateway and one store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast, get_args

from mcp.server.mcpserver import MCPServer

from alltoken_agent import Config, Gateway, __version__
from alltoken_agent.ledger import Ledger
from alltoken_agent.mcp.account_tools import register_account_tools
from alltoken_agent.mcp.chat_tool import register_chat
from alltoken_agent.mcp.context import ToolDeps
from alltoken_agent.mcp.media_tools import register_media_tools
from alltoken_agent.store import Store

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
SERVER_NAME = "alltoken-agent"
INSTRUCTIONS = (
    "alltoken-agent reaches AllToken (or another OpenAI-compatible gateway): `chat` talks to "
    "an agent on any of its models (pass `session` to keep a conversation), "
    "`generate_image` makes an image (it returns the saved path and the image), "
    "`generate_video` makes a video (it returns the saved path; progress notifications "
    "follow the job, which can take minutes), `list_models` shows the model ids (modality "
    "image or video for the media tools), and `usage` reports tokens and cost recorded "
    "locally. Errors come back as tool errors naming the gateway's error code and request "
    "id; a media job left unfinished is finished with `alltoken-agent jobs resume`."
)


def build_server(
    gateway: Gateway,
    store: Store,
    *,
    ledger: Ledger | None = None,
    config: Config | None = None,
    media_dir: Path | None = None,
    log_level: str = "WARNING",
) -> MCPServer[Any]:
    """The MCP server offering alltoken-agent's tools over ``gateway``.

    The caller owns ``gateway`` and ``store`` and closes them after the server stops.
    Requests are recorded only if the caller adds ``ledger.observer`` to the gateway
    (the CLI does); the ``usage`` tool reads ``ledger`` either way.

    Args:
        gateway: The gateway every tool talks to; its model is ``chat``'s default.
        store: Where ``chat`` sessions are kept and the ledger lives.
        ledger: The ledger ``usage`` reports from; defaults to one on ``store``.
        config: The config file's settings (model-family overrides).
        media_dir: Where generated images and videos are saved (default: ``media/mcp`` in
            the data folder). Their jobs are journaled in ``store``, as the CLI's are.
        log_level: The SDK's log level; its logs go to stderr, never into the stdio stream.
    """
    server: MCPServer[Any] = MCPServer(
        SERVER_NAME,
        title="alltoken-agent",
        instructions=INSTRUCTIONS,
        website_url="https://alltoken.ai",
        version=__version__,
        log_level=_level(log_level),
    )
    deps = ToolDeps(
        gateway=gateway,
        store=store,
        ledger=ledger or Ledger(store, simulated=gateway.simulated),
        config=config or Config(),
        media_dir=media_dir,
    )
    register_chat(server, deps)
    register_media_tools(server, deps)
    register_account_tools(server, deps)
    return server


def _level(name: str) -> LogLevel:
    for level in get_args(LogLevel):
        if name.upper() == level:
            return cast(LogLevel, level)
    raise ValueError(f"unknown log level {name!r}; use one of {', '.join(get_args(LogLevel))}")
