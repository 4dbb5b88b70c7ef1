"""`alltoken-agent completion`: print or install the shell completion script.

The scripts are Typer's; a shell asks for completions by running the program with
``_ALLTOKEN_AGENT_COMPLETE=complete_bash`` (or ``_zsh``, ``_fish``) set, which the
root group answers from its command table without importing the command modules.
This replaces Typer's ``--install-completion``/``--show-completion``, which guess the
shell from the parent process and cannot be told one (they fail under CI, editors
and containers).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from alltoken_agent import UserError
from alltoken_agent.cli._lazy import QuickHelpGroup
from alltoken_agent.cli.exit_codes import describe, exit_code_for

Shell = Literal["bash", "zsh", "fish"]
SHELLS: tuple[Shell, ...] = ("bash", "zsh", "fish")
PROG_NAME = "alltoken-agent"
_STARTUP_FILES = {"bash": "~/.bashrc", "zsh": "~/.zshrc", "fish": None}

completion_app = typer.Typer(
    name="completion",
    cls=QuickHelpGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ShellArg = Annotated[
    Shell | None,
    typer.Argument(
        help="bash, zsh or fish; default: your login shell ($SHELL).", show_default=False
    ),
]


@completion_app.callback()
def completion() -> None:
    """Show or install shell completion for commands, options and values.

    \b
    Examples:
      alltoken-agent completion install bash
      alltoken-agent completion show zsh > ~/.zfunc/_alltoken-agent
      eval "$(alltoken-agent completion show bash)"
    """


@completion_app.command("show")
def show(ctx: typer.Context, shell: ShellArg = None) -> None:
    """Print the completion script for a shell.

    Source it, or save it where your shell looks for completions.

    \b
    Examples:
      alltoken-agent completion show bash >> ~/.bashrc
      alltoken-agent completion show fish > ~/.config/fish/completions/alltoken-agent.fish
      eval "$(alltoken-agent completion show zsh)"
    """
    from typer._completion_shared import get_completion_script

    name, prog = _chosen(shell), _prog_name(ctx)
    script = get_completion_script(prog_name=prog, complete_var=complete_var(prog), shell=name)
    sys.stdout.write(script + "\n")


@completion_app.command("install")
def install(ctx: typer.Context, shell: ShellArg = None) -> None:
    """Install the completion script for a shell.

    It works in shells opened afterwards.

    bash: writes ~/.bash_completions/alltoken-agent.sh and sources it from ~/.bashrc.
    zsh: writes ~/.zfunc/_alltoken-agent and adds ~/.zfunc to fpath in ~/.zshrc.
    fish: writes ~/.config/fish/completions/alltoken-agent.fish.

    \b
    Examples:
      alltoken-agent completion install
      alltoken-agent completion install zsh
    """
    from typer._completion_shared import install as install_script

    name, prog = _chosen(shell), _prog_name(ctx)
    _, path = install_script(shell=name, prog_name=prog, complete_var=complete_var(prog))
    startup = _STARTUP_FILES[name]
    print(f"installed {name} completion for {prog} in {path}")
    if startup:
        print(f"(loaded from {startup}); open a new shell to use it")
    else:
        print("open a new shell to use it")


def complete_var(prog: str) -> str:
    """The variable a shell sets to ask for completions: ``_ALLTOKEN_AGENT_COMPLETE``."""
    return f"_{prog}_COMPLETE".replace("-", "_").upper()


def _chosen(shell: Shell | None) -> Shell:
    if shell is not None:
        return shell
    login = Path(os.environ.get("SHELL", "")).name
    for known in SHELLS:
        if login == known:
            return known
    error = UserError(
        f"cannot tell which shell to complete for (SHELL is {login or 'not set'}); "
        "name one: bash, zsh or fish"
    )
    print(describe(error), file=sys.stderr)
    raise typer.Exit(exit_code_for(error))


def _prog_name(ctx: typer.Context) -> str:
    """The name the program was run by (alltoken-agent or ata); never ``python -m ...``."""
    name = ctx.find_root().info_name or PROG_NAME
    return name if name.replace("-", "").replace("_", "").isalnum() else PROG_NAME
