"""`alltoken-agent provider-config`: the snippet that makes AllToken a runtime's model provider."""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

from alltoken_agent.cli.output import EventWriter, run_command


def provider_config(
    target: Annotated[
        Literal["hermes", "openclaw", "generic"],
        typer.Option(
            "--target",
            "-t",
            case_sensitive=False,
            help="The runtime to configure; generic prints the skill's provider:/model: YAML.",
            show_default=False,
        ),
    ],
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="A model to offer (repeatable); the first is the default. "
            "Default: minimax-m2.7, deepseek-v4-flash, gpt-5.4-mini.",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible base URL to put in the snippet instead of AllToken's "
            "(e.g. a local `alltoken-agent simulator`).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the config snippet that makes AllToken an agent runtime's model provider.

    The runtime then calls AllToken's OpenAI-compatible API
    (https://api.alltoken.ai/v1) itself, with the key from ALLTOKEN_API_KEY;
    the snippet names the variable and never holds a key. Where to paste it
    goes to stderr, the snippet to stdout.

    \b
    Examples:
      alltoken-agent provider-config --target hermes
      alltoken-agent provider-config --target openclaw -m deepseek-v4-flash
      alltoken-agent provider-config --target generic -m gpt-5.4-mini
      alltoken-agent provider-config -t hermes --base-url http://127.0.0.1:8765/v1
    """

    async def main() -> None:
        from alltoken_agent.skills import provider_snippet

        snippet = provider_snippet(target, models or (), base_url=base_url)
        sys.stdout.write(snippet.text)
        print(f"# {snippet.note}", file=sys.stderr)

    run_command(main, EventWriter(enabled=False))
