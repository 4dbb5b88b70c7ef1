"""`alltoken-agent tui`: chat in a terminal UI (Textual, imported only when it runs)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from alltoken_agent import UserError
from alltoken_agent.cli.exit_codes import FAILURE
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    load_user_config,
    observing_ledger,
    open_gateway,
)
from alltoken_agent.cli.output import EventWriter, run_command

if TYPE_CHECKING:
    from alltoken_agent.tui import ChatApp

INSTALL_HINT = "pip install 'alltoken-agent[tui]'"


def tui(
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    offline: OfflineOpt = False,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            help="Resume the stored session of this name (created if new). By default a new "
            "session named by date and time; /sessions resumes any.",
            show_default=False,
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option("--system", "-s", help="System prompt.", show_default=False),
    ] = None,
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="Tools: default (get_current_time, calculate), none, or a comma-separated "
            "list (get_current_time, calculate, web_search).",
        ),
    ] = "default",
    mcp: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp",
            metavar="NAME",
            help="Let the agent use the tools of MCP server NAME, declared as "
            "[mcp_servers.NAME] in the config file; repeat for more servers.",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Approve every tool call that needs approval (by default a dialog asks).",
        ),
    ] = False,
) -> None:
    """Chat with an agent in a terminal UI.

    Replies stream as Markdown, with the model's reasoning folded and tool calls
    shown inline; the status bar shows tokens and cost so far. Every finished
    turn is stored, so /sessions resumes earlier conversations. With no API key
    set for the provider, it runs on the built-in offline simulator. Needs the
    tui extra: pip install 'alltoken-agent[tui]'.

    \b
    Keys: Enter sends, Shift+Enter or Ctrl+J adds a line, Up/Down recall,
    Esc or Ctrl+C cancels a reply, Ctrl+T toggles thinking, F1 help,
    F2 model picker, F3 sessions, Ctrl+C twice or Ctrl+Q quits.
    Commands: /model /system /clear /image /video /save /sessions /help

    \b
    Examples:
      alltoken-agent tui
      alltoken-agent tui --model deepseek-v4-flash --session work
      alltoken-agent tui --offline
    """
    try:
        from alltoken_agent.tui import make_app  # noqa: F401 - fail early, before the gateway
    except ImportError:
        print(
            f"alltoken-agent: the terminal UI needs Textual, not installed: {INSTALL_HINT}",
            file=sys.stderr,
        )
        raise typer.Exit(FAILURE) from None
    options = GatewayOptions(provider=provider, base_url=base_url, model=model, offline=offline)
    run_command(
        lambda: _tui(options, session, system, tools, mcp or [], yes), EventWriter(enabled=False)
    )


async def _tui(
    options: GatewayOptions,
    session: str | None,
    system: str | None,
    tools_spec: str,
    mcp_names: list[str],
    auto_approve: bool = False,
) -> None:
    from alltoken_agent.agent import DEFAULT_INSTRUCTIONS, resolve_tool_names
    from alltoken_agent.agent.mcp_client import open_mcp_tools
    from alltoken_agent.mcp_wire.servers import servers_from_config
    from alltoken_agent.store import Store
    from alltoken_agent.tui import make_app

    tools = resolve_tool_names(tools_spec)
    config = load_user_config()
    servers = servers_from_config(config, mcp_names)
    store = Store()
    try:
        async with open_gateway(options) as gateway:
            if not gateway.model:
                raise UserError(
                    f"no model chosen for provider {gateway.provider.name!r}: pass --model "
                    "or set `model` in the config file"
                )
            ledger = await observing_ledger(gateway, store, config)
            # Started once for the whole session: every agent the app makes (after /clear,
            # on resume) shares the same servers and tools.
            async with open_mcp_tools(servers, reserved=[t.name for t in tools]) as mcp_tools:
                app: ChatApp = make_app(
                    gateway,
                    store=store,
                    config=config,
                    session=session,
                    tools=[*tools, *mcp_tools],
                    instructions=system or DEFAULT_INSTRUCTIONS,
                    auto_approve=auto_approve,
                    ledger=ledger,
                    prices=ledger.prices,
                )
                await app.run_async()
    finally:
        store.close()
