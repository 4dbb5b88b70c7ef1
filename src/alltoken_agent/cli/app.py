"""The Typer application: one command per module, registered here."""

from __future__ import annotations

from typing import Annotated

import typer

from alltoken_agent._version import __version__
from alltoken_agent.cli.chat import chat
from alltoken_agent.cli.simulator import simulator

app = typer.Typer(
    name="alltoken-agent",
    help="Build and run AI agents on AllToken, TokenHub and any OpenAI-compatible gateway.\n\n"
    'Example: alltoken-agent chat "What is the capital of France?"',
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"alltoken-agent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build and run AI agents on AllToken, TokenHub and any OpenAI-compatible gateway."""


app.command()(chat)
app.command()(simulator)
