"""The root command: the table of commands, each module imported only when it runs."""

from __future__ import annotations

from typing import Annotated

import typer

from alltoken_agent._version import __version__
from alltoken_agent.cli._lazy import LazyCommand, LazyGroup

_CLI = "alltoken_agent.cli"

COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand("chat", f"{_CLI}.chat:chat", "Send a message to an agent and stream its reply."),
    LazyCommand("tui", f"{_CLI}.tui:tui", "Chat with an agent in a terminal UI (tui extra)."),
    LazyCommand("models", f"{_CLI}.models:models_app", "List models, or the public catalog."),
    LazyCommand("health", f"{_CLI}.health:health", "Show the gateway's route health."),
    LazyCommand("probe", f"{_CLI}.probe:probe", "Check what an OpenAI-compatible API supports."),
    LazyCommand("usage", f"{_CLI}.usage:usage", "Show the tokens and cost of past requests."),
    LazyCommand(
        "sessions", f"{_CLI}.sessions:sessions_app", "List, show, export or remove conversations."
    ),
    LazyCommand("logs", f"{_CLI}.logs:logs", "Search every stored prompt and reply."),
    LazyCommand("check", f"{_CLI}.check:check", "Check a provider against the contract."),
    LazyCommand("batch", f"{_CLI}.batch:batch", "Run one agent turn per line of a JSONL file."),
    LazyCommand("worker", f"{_CLI}.worker:worker", "Run batch lines queued in a shared store."),
    LazyCommand("image", f"{_CLI}.image:image", "Generate images and save them."),
    LazyCommand("video", f"{_CLI}.video:video", "Generate videos and save them."),
    LazyCommand("jobs", f"{_CLI}.jobs:jobs_app", "List, resume or cancel image and video jobs."),
    LazyCommand("config", f"{_CLI}.config:config_app", "Show, create or change the config file."),
    LazyCommand("mcp", f"{_CLI}.mcp:mcp_app", "Serve MCP (mcp extra), or add it to a runtime."),
    LazyCommand("skill", f"{_CLI}.skill:skill_app", "Show or install the skill for agents."),
    LazyCommand(
        "provider-config",
        f"{_CLI}.provider_config:provider_config",
        "Print a runtime's snippet for AllToken.",
    ),
    LazyCommand("serve", f"{_CLI}.serve:serve", "Serve agents over HTTP (server extra)."),
    LazyCommand("web", f"{_CLI}.web:web", "Open the web console in a browser (server extra)."),
    LazyCommand("simulator", f"{_CLI}.simulator:simulator", "Serve the offline simulator."),
    LazyCommand(
        "completion", f"{_CLI}.completion:completion_app", "Show or install shell completion."
    ),
)
"""Every command, in --help order. A new command is one row here and one module."""


class RootGroup(LazyGroup):
    """The ``alltoken-agent`` group."""

    lazy_commands = COMMANDS


def _version(value: bool) -> None:
    if value:
        print(f"alltoken-agent {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="alltoken-agent",
    cls=RootGroup,
    no_args_is_help=True,
    add_completion=False,  # `alltoken-agent completion show|install SHELL` instead
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build and run AI agents on AllToken, TokenHub and any OpenAI-compatible gateway.

    Every command has --help with examples. Without an API key, commands run on
    the built-in offline simulator and say so. Colours and progress appear only
    on a terminal; NO_COLOR turns colours off.

    \b
    Examples:
      alltoken-agent chat "What is the capital of France?"
      alltoken-agent config init
      alltoken-agent models --catalog --sort price
      alltoken-agent completion install bash
    """
