"""`alltoken-agent skill`: the SKILL.md that teaches other agent runtimes to use alltoken-agent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from alltoken_agent.cli.output import EventWriter, run_command

skill_app = typer.Typer(
    name="skill",
    help="Show or install the alltoken-agent skill for other agent runtimes.\n\n"
    "\b\nExamples:\n"
    "  alltoken-agent skill install --target claude\n"
    "  alltoken-agent skill show > SKILL.md",
    rich_markup_mode=None,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@skill_app.command("install")
def install(
    target: Annotated[
        str,
        typer.Option(
            "--target",
            "-t",
            help="claude, codex, opencode, hermes, openclaw, or any folder (the skill goes "
            "in DIR/alltoken-agent/SKILL.md).",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print where the skill would go; write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a different SKILL.md already there.")
    ] = False,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Home folder the runtime's skills live under (default: yours).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Install SKILL.md where an agent runtime looks for skills.

    \b
    Locations (user level):
      claude    ~/.claude/skills/alltoken-agent/SKILL.md
      codex     ~/.agents/skills/alltoken-agent/SKILL.md
      opencode  ~/.config/opencode/skills/alltoken-agent/SKILL.md
      hermes    ~/.hermes/skills/alltoken-agent/SKILL.md
      openclaw  ~/.openclaw/skills/alltoken-agent/SKILL.md

    \b
    Examples:
      alltoken-agent skill install --target claude
      alltoken-agent skill install --target ./.claude/skills --dry-run
    """

    async def main() -> None:
        _install(target, dry_run=dry_run, force=force, home=home)

    run_command(main, EventWriter(enabled=False))


def _install(target: str, *, dry_run: bool, force: bool, home: Path | None) -> None:
    from alltoken_agent.skills import (
        default_home,
        install_skill,
        plan_skill_install,
        runtime_environ,
    )

    plan = plan_skill_install(target, home or default_home(), runtime_environ(home is not None))
    if dry_run:
        state = {
            "new": "would be written",
            "same": "already installed, unchanged",
            "different": "exists and differs (--force replaces it)",
        }[plan.state]
        print(f"{plan.path}: {state}")
        return
    if install_skill(plan, force=force):
        print(f"installed the alltoken-agent skill at {plan.path}")
    else:
        print(f"{plan.path}: already installed, unchanged")


@skill_app.command("show")
def show(
    target: Annotated[
        str | None,
        typer.Option(
            "--target", "-t", help="Show the copy made for this runtime.", show_default=False
        ),
    ] = None,
) -> None:
    """Print the SKILL.md shipped with alltoken-agent.

    \b
    Examples:
      alltoken-agent skill show
      alltoken-agent skill show --target codex > SKILL.md
    """
    from alltoken_agent import UserError
    from alltoken_agent.skills import RUNTIMES, get_runtime, skill_text

    async def main() -> None:
        runtime = None
        if target is not None:
            runtime = get_runtime(target)
            if runtime is None:
                raise UserError(f"unknown target {target!r}: use one of {', '.join(RUNTIMES)}")
        sys.stdout.write(skill_text(runtime.name if runtime else None))

    run_command(main, EventWriter(enabled=False))
