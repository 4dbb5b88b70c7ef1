"""`alltoken-agent mcp`: serve the MCP server; `mcp install`: add it to an agent runtime.

The SDK, the store and the install helpers are imported when a command runs, so
`--help` stays fast.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from alltoken_agent import UserError
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    load_user_config,
    open_gateway,
)
from alltoken_agent.cli.output import EventWriter, run_command

DEFAULT_HTTP_PORT = 8766
"""``--transport http``'s port: not the simulator's 8765, so both run side by side."""

mcp_app = typer.Typer(
    name="mcp",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

TargetOpt = Annotated[
    str,
    typer.Option(
        "--target",
        "-t",
        help="claude, codex, opencode, hermes, openclaw, or a path to a .json (mcpServers) "
        "or .toml (mcp_servers) config file.",
        show_default=False,
    ),
]
HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Home folder the runtime's config lives under (default: yours).",
        show_default=False,
    ),
]


@mcp_app.callback(invoke_without_command=True)
def mcp(
    ctx: typer.Context,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    offline: OfflineOpt = False,
    transport: Annotated[
        Literal["stdio", "http"],
        typer.Option(
            "--transport",
            case_sensitive=False,
            help="stdio (an MCP client starts this command) or http (streamable HTTP).",
        ),
    ] = "stdio",
    host: Annotated[
        str, typer.Option(help="With --transport http: interface to bind.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="With --transport http: port (0 picks a free one)."),
    ] = DEFAULT_HTTP_PORT,
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"],
        typer.Option(
            "--log-level", case_sensitive=False, help="MCP SDK log level (logs go to stderr)."
        ),
    ] = "warning",
    media_dir: Annotated[
        Path | None,
        typer.Option(
            "--media-dir",
            help="Folder for the files of generate_image and generate_video; default: "
            "media/mcp in the data folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve alltoken-agent as an MCP server, or add it to an agent runtime (`mcp install`).

    The server offers the tools chat, generate_image, generate_video, list_models and
    usage. Generated files are saved under --media-dir; their jobs are journaled like
    the CLI's, so `alltoken-agent jobs resume` finishes one left unfinished.

    With no API key it runs on the built-in offline simulator and says so on
    stderr. Over HTTP the endpoint is http://HOST:PORT/mcp; it has no
    authentication, so keep it on loopback.

    \b
    Examples:
      alltoken-agent mcp
      alltoken-agent mcp --offline
      alltoken-agent mcp --transport http --port 8766
      alltoken-agent mcp install --target claude
    """
    if ctx.invoked_subcommand is not None:
        return
    options = GatewayOptions(provider=provider, base_url=base_url, model=model, offline=offline)
    writer = EventWriter(enabled=False)
    run_command(lambda: _serve(options, transport, host, port, log_level, media_dir), writer)


async def _serve(
    options: GatewayOptions,
    transport: str,
    host: str,
    port: int,
    log_level: str,
    media_dir: Path | None = None,
) -> None:
    try:
        from alltoken_agent.mcp import LOOPBACK_HOSTS, build_server, serve_http, serve_stdio
    except ModuleNotFoundError as error:
        raise UserError(str(error)) from None
    from alltoken_agent.ledger import Ledger
    from alltoken_agent.store import Store

    config = load_user_config()
    store = Store()
    try:
        async with open_gateway(options) as gateway:
            ledger = Ledger(store, simulated=gateway.simulated)
            gateway.add_observer(ledger.observer)
            server = build_server(
                gateway,
                store,
                ledger=ledger,
                config=config,
                media_dir=media_dir,
                log_level=log_level,
            )
            if transport == "stdio":
                await serve_stdio(server)
                return
            if host not in LOOPBACK_HOSTS:
                print(
                    f"alltoken-agent: warning: serving on {host} without authentication; "
                    "anyone who reaches it can spend this account's balance",
                    file=sys.stderr,
                )
            await serve_http(server, host=host, port=port, on_ready=_announce)
    finally:
        store.close()


def _announce(url: str) -> None:
    print(f"alltoken-agent MCP server on {url} (streamable HTTP) — Ctrl-C stops", file=sys.stderr)


@mcp_app.command("install")
def install(
    target: TargetOpt,
    write: Annotated[
        bool,
        typer.Option("--write", help="Merge the entry into the config file (a backup is kept)."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --write: replace our entry if it differs.")
    ] = False,
    home: HomeOpt = None,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            help="Executable the runtime runs (default: alltoken-agent as found on PATH).",
            show_default=False,
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            help="Provider the server uses (default: alltoken).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Default model of the server.", show_default=False),
    ] = None,
) -> None:
    """Print (or with --write, merge in) the MCP config entry for an agent runtime.

    The entry starts `alltoken-agent mcp` and passes the API key's environment
    variable through by name; it never contains a key.

    \b
    Examples:
      alltoken-agent mcp install --target claude
      alltoken-agent mcp install --target codex --write
      alltoken-agent mcp install --target ./.mcp.json --write
    """
    writer = EventWriter(enabled=False)

    async def main() -> None:
        _install(target, write, force, home, command, provider, model)

    run_command(main, writer)


def _install(
    target: str,
    write: bool,
    force: bool,
    home: Path | None,
    command: str | None,
    provider: str | None,
    model: str | None,
) -> None:
    from alltoken_agent.gateway import get_provider
    from alltoken_agent.skills import (
        ServerCommand,
        default_home,
        plan_mcp_install,
        runtime_environ,
        write_mcp_config,
    )

    args = ["mcp"]
    key_env = get_provider("alltoken").api_key_env
    if provider:
        key_env = get_provider(provider, load_user_config()).api_key_env
        args += ["--provider", provider]
    if model:
        args += ["--model", model]
    executable = command or shutil.which("alltoken-agent") or "alltoken-agent"
    server = ServerCommand(command=executable, args=tuple(args), key_env=key_env)
    plan = plan_mcp_install(
        target, server, home or default_home(), runtime_environ(home is not None)
    )
    if not write:
        sys.stdout.write(plan.snippet)
        print(f"# {plan.title}: {plan.path}", file=sys.stderr)
        if plan.hint:
            print(f"# or run: {plan.hint}", file=sys.stderr)
        if plan.state == "same":
            print("# already there, unchanged", file=sys.stderr)
        elif plan.state == "manual":
            print(f"# {plan.reason}", file=sys.stderr)
        else:
            print("# pass --write to merge it in (a backup is kept)", file=sys.stderr)
        return
    outcome = write_mcp_config(plan, force=force)
    if not outcome.written:
        print(f"{plan.path}: the {plan.title} entry is already there, unchanged")
        return
    print(f"{plan.path}: added the alltoken-agent MCP server for {plan.title}")
    if outcome.backup is not None:
        print(f"backup of the previous file: {outcome.backup}")
