"""`alltoken-agent config`: show, create or change the config file (show, init, set, path)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alltoken_agent import ConfigError, UserError
from alltoken_agent.cli._lazy import QuickHelpGroup
from alltoken_agent.cli.exit_codes import FAILURE, describe, exit_code_for
from alltoken_agent.cli.options import JsonOpt

if TYPE_CHECKING:
    from collections.abc import Callable

config_app = typer.Typer(
    name="config",
    cls=QuickHelpGroup,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _config_file() -> Path:
    from alltoken_agent import app_dirs

    return app_dirs().config_file


def _run(action: Callable[[], None]) -> None:
    """Run a config command; a bad key, value or file is one stderr line and exit 2."""
    try:
        action()
    except (UserError, ConfigError) as error:
        print(describe(error), file=sys.stderr)
        raise typer.Exit(exit_code_for(error)) from None
    except OSError as error:
        print(f"error: {error.filename or 'config file'}: {error.strerror}", file=sys.stderr)
        raise typer.Exit(FAILURE) from None


@config_app.callback(invoke_without_command=True)
def config(ctx: typer.Context) -> None:
    """Show, create or change the config file; with no command, show the settings.

    The file is TOML, at the path `config path` prints (ALLTOKEN_AGENT_HOME moves it).
    Command-line flags beat environment variables, which beat the file, which
    beats the built-in defaults.

    \b
    Examples:
      alltoken-agent config
      alltoken-agent config init
      alltoken-agent config set model deepseek-v4-flash
      alltoken-agent config set providers.local.base_url http://127.0.0.1:11434/v1
      alltoken-agent config show --json
      $EDITOR "$(alltoken-agent config path)"
    """
    if ctx.invoked_subcommand is None:
        show(json_output=False)


@config_app.command("path")
def path() -> None:
    """Print the config file's path (whether or not the file exists yet).

    \b
    Examples:
      alltoken-agent config path
      ALLTOKEN_AGENT_HOME=/tmp/agent alltoken-agent config path
    """
    print(_config_file())


@config_app.command("show")
def show(json_output: JsonOpt = False) -> None:
    """Show the effective settings: the file's values, the defaults, and the providers.

    Each setting says where it comes from (file, env, or default). API keys are
    never shown, only whether their environment variable is set; server keys, MCP
    server env and headers and the store URL show as <hidden>.

    \b
    Examples:
      alltoken-agent config show
      alltoken-agent config show --json | jq '.settings.model'
    """

    def action() -> None:
        from alltoken_agent.cli._config_view import effective_view, render_view

        target = _config_file()
        view = effective_view(target, os.environ)
        if json_output:
            sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
        else:
            sys.stdout.write(render_view(view))

    _run(action)


@config_app.command("init")
def init(
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing file (the old one is kept as .bak)."),
    ] = False,
) -> None:
    """Write a commented config file with every setting and its default.

    Every line starts commented out, so the file changes nothing until you edit
    it. An existing file is left alone unless you pass --force.

    \b
    Examples:
      alltoken-agent config init
      alltoken-agent config init --force
    """

    def action() -> None:
        from alltoken_agent.cli._config_set import write_atomically
        from alltoken_agent.cli._config_view import TEMPLATE

        target = _config_file()
        if target.exists() and not force:
            raise UserError(f"{target} already exists; pass --force to replace it")
        backup = None
        if target.exists():
            backup = target.with_name(target.name + ".bak")
            backup.write_bytes(target.read_bytes())
        write_atomically(target, TEMPLATE)
        print(f"wrote {target}")
        if backup is not None:
            print(f"the previous file is in {backup}")

    _run(action)


@config_app.command("set")
def set_(
    key: Annotated[
        str,
        typer.Argument(
            help="A dotted key: provider, timeouts.read, providers.NAME.base_url, "
            "'prices.\"gpt-5.4\".input_per_1k' (quote names with dots).",
            show_default=False,
        ),
    ],
    value: Annotated[
        str,
        typer.Argument(
            help="The value: text, a number, true/false, or TOML (e.g. '[\"web_search\"]').",
            show_default=False,
        ),
    ],
) -> None:
    """Set one setting in the config file, checked before the file is written.

    The key must be one the config file knows and the value must be valid for
    it, else nothing is written and the command exits 2. Other settings stay as
    they are. Comments and layout are kept for a plain `key = value` line; a file
    that needs rewriting (say, the value spans lines) loses its comments, and
    the command says so.

    \b
    Examples:
      alltoken-agent config set provider tokenhub
      alltoken-agent config set timeouts.read 120
      alltoken-agent config set budget.daily_usd 5.00
      alltoken-agent config set approval.tools '["web_search"]'
      alltoken-agent config set providers.local.base_url http://127.0.0.1:11434/v1
    """

    def action() -> None:
        from alltoken_agent.cli._config_set import set_key

        target = _config_file()
        outcome = set_key(target, key, value)
        print(f"{target}: {outcome.key} = {outcome.shown}")
        if outcome.dropped_comments:
            print(
                f"alltoken-agent: {target} was rewritten to set {outcome.key}; "
                "its comments were dropped",
                file=sys.stderr,
            )

    _run(action)
