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

# Usage ledger and integration check (one block per feature keeps merges trivial).
from alltoken_agent.cli.check import check  # noqa: E402
from alltoken_agent.cli.usage import usage  # noqa: E402

app.command()(usage)
app.command()(check)

# Model discovery: models (list, catalog, show), health, probe.
from alltoken_agent.cli.health import health  # noqa: E402
from alltoken_agent.cli.models import models_app  # noqa: E402
from alltoken_agent.cli.probe import probe  # noqa: E402

app.add_typer(models_app)
app.command()(health)
app.command()(probe)

# Terminal UI (cli/tui.py imports Textual only when the command runs).
from alltoken_agent.cli.tui import tui  # noqa: E402

app.command()(tui)

# MCP server, skills and provider snippets for other agent runtimes (SDK imported on use).
from alltoken_agent.cli.mcp import mcp_app  # noqa: E402
from alltoken_agent.cli.provider_config import provider_config  # noqa: E402
from alltoken_agent.cli.skill import skill_app  # noqa: E402

app.add_typer(mcp_app)
app.add_typer(skill_app)
app.command("provider-config")(provider_config)

# HTTP server (cli/serve.py imports FastAPI and uvicorn only when the command runs).
from alltoken_agent.cli.serve import serve  # noqa: E402

app.command()(serve)

# Media jobs: image, video, and the jobs journal (list, show, resume, cancel).
from alltoken_agent.cli.image import image  # noqa: E402
from alltoken_agent.cli.jobs import jobs_app  # noqa: E402
from alltoken_agent.cli.video import video  # noqa: E402

app.command()(image)
app.command()(video)
app.add_typer(jobs_app)
