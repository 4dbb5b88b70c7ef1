"""A command group that imports a command's module only when that command runs.

The root group lists every command from a table of ``name -> "module:attribute"`` and
one line of help, so ``alltoken-agent --help`` and completing a command name import
none of the command modules (nor the agent, gateway, store or ledger behind them).
``alltoken-agent chat ...`` imports ``alltoken_agent.cli.chat`` and nothing else of the
table; ``chat --help`` stops there, because the command modules import their heavy
dependencies inside the function bodies.

This subclasses Typer's group (``typer.Typer(cls=...)`` must get a ``TyperGroup``)
and the Click vendored by Typer (``typer._click``), which has no public name.
Click documents the pattern as "lazily loading subcommands".
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import import_module
from typing import Any

import typer
from typer import _click
from typer._click.exceptions import UsageError
from typer._click.shell_completion import CompletionItem
from typer._coercion import RuntimeParam, build_runtime_param
from typer.core import TyperCommand, TyperGroup, TyperOption, _TyperParameter
from typer.main import get_command, get_group

_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


@dataclass(frozen=True)
class LazyCommand:
    """One row of the command table."""

    name: str
    """The command name users type."""
    target: str
    """``"package.module:attribute"``: a command function or a ``typer.Typer`` group."""
    help: str
    """One line for the root ``--help`` and for shell completion (the module is not read)."""


class QuickHelpGroup(TyperGroup):
    """A ``TyperGroup`` whose ``--help`` flag defaults to False instead of None.

    Typer converts every parameter value through a pydantic ``TypeAdapter`` except a
    bool that is already a bool; a group's unused ``--help`` is None, so
    ``alltoken-agent chat --help`` would import pydantic (about 50 ms) for nothing.
    """

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        """Typer's help option, with a bool default."""
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


@dataclass(frozen=True)
class _PlainValue(RuntimeParam):
    """Typer's conversion of one parameter, without pydantic for a value that needs none.

    A string given to a ``str`` parameter (or each of a ``list[str]`` option's) and a
    number or flag left at its declared default are returned as they are, which is
    what Typer's adapter returns for them; anything else (a number typed on the command
    line, a path, a choice) goes to Typer's own conversion, built then.
    """

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: _click.Context) -> Any:
        annotation = self.annotation
        if self.parameter_info.parser is None:
            if annotation is str and type(value) is str:
                return value
            if annotation == list[str] and isinstance(value, (list, tuple)):
                if all(type(item) is str for item in value):
                    return list(value)
            if annotation in (int, float, bool) and value is param.default:
                return value
        converter = build_runtime_param(param.type_descriptor)
        param._runtime_param = converter  # the next value goes straight to Typer's
        return converter._coerce_value(value, param=param, ctx=ctx)


class QuickCommand(TyperCommand):
    """A ``TyperCommand`` that converts plain values without building pydantic adapters.

    Typer converts every parameter's value through a pydantic ``TypeAdapter`` built on
    first use, even an option left unset: for ``chat`` that was about twenty adapters,
    and pydantic's import, before the command ran (bench/cli_startup.py).
    """

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        """Click's parsing, each parameter converting as :class:`_PlainValue` says."""
        for param in self.get_params(ctx):  # with --help, made per context
            if isinstance(param, _TyperParameter) and param._runtime_param is None:
                param._runtime_param = _PlainValue(
                    parameter_info=param.type_descriptor.parameter_info,
                    annotation=param.type_descriptor.annotation,
                )
        return super().parse_args(ctx, args)


class LazyGroup(QuickHelpGroup):
    """A ``TyperGroup`` whose commands come from ``lazy_commands``, imported on demand.

    Subclass it and set ``lazy_commands``; pass the subclass as ``typer.Typer(cls=...)``.
    """

    lazy_commands: tuple[LazyCommand, ...] = ()

    def _entry(self, name: str) -> LazyCommand | None:
        return next((entry for entry in self.lazy_commands if entry.name == name), None)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """Table order, then any command registered the usual way."""
        names = [entry.name for entry in self.lazy_commands]
        return names + [name for name in self.commands if name not in names]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        """The command, importing its module the first time it is asked for."""
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        entry = self._entry(cmd_name)
        if entry is None:
            return None
        command = load_command(entry)
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The "Commands" section of --help, from the table (no module is imported)."""
        rows = [(entry.name, entry.help) for entry in self.lazy_commands]
        rows += [
            (name, command.get_short_help_str(formatter.width))
            for name, command in self.commands.items()
            if self._entry(name) is None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: _click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (from the table) and the group's own options."""
        items = [
            CompletionItem(entry.name, help=entry.help)
            for entry in self.lazy_commands
            if entry.name.startswith(incomplete)
        ]
        # The options come from Click's Command; TyperGroup's override would load every
        # command to read its short help.
        return items + _click.Command.shell_complete(self, ctx, incomplete)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        """As Click, with "did you mean" drawn from the table instead of loaded commands."""
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as error:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                suggestions = ", ".join(repr(match) for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def _main_shell_completion(
        self,
        ctx_args: MutableMapping[str, Any],
        prog_name: str,
        complete_var: str | None = None,
    ) -> None:
        """Answer a shell's completion request (``_ALLTOKEN_AGENT_COMPLETE=complete_bash``).

        Typer registers its shell classes only when ``add_completion`` is on; this app
        offers ``completion show|install`` instead, so it registers them here. Click's
        spelling of the instruction (``bash_complete``, ``zsh_source``) is accepted too.
        """
        if complete_var is None:
            complete_var = f"_{prog_name}_COMPLETE".replace("-", "_").upper()
        instruction = os.environ.get(complete_var)
        if not instruction:
            return
        from typer._completion_classes import completion_init
        from typer.completion import shell_complete

        completion_init()
        first, _, second = instruction.partition("_")
        if first in _SHELLS:  # Click's order, SHELL_INSTRUCTION; Typer's is the reverse
            instruction = f"{second}_{first}"
        sys.exit(shell_complete(self, ctx_args, prog_name, complete_var, instruction))


def load_command(entry: LazyCommand) -> _click.Command:
    """Import ``entry.target`` and turn it into a Click command named ``entry.name``."""
    module_name, _, attribute = entry.target.partition(":")
    target = getattr(import_module(module_name), attribute)
    command: _click.Command
    if isinstance(target, typer.Typer):
        command = get_group(target)  # not get_command: it adds --install-completion
    else:
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        single.command(entry.name, cls=QuickCommand)(target)
        command = get_command(single)
    command.name = entry.name
    command.short_help = entry.help  # listings read the same before and after loading
    return command
