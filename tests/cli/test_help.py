"""Every command and subcommand has --help with an example; the root lists them all."""

from __future__ import annotations

import pytest
from typer.main import get_command

from alltoken_agent._version import __version__
from alltoken_agent.cli._lazy import load_command
from alltoken_agent.cli.app import COMMANDS, app
from tests.cli.helpers import run_cli


def command_paths() -> list[tuple[str, ...]]:
    """Every command path in the tree: ("chat",), ("models", "show"), ..."""
    from typer._click import Context

    root = get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        lister = getattr(command, "list_commands", None)
        if lister is None:
            return
        ctx = Context(command)  # type: ignore[arg-type]
        for name in lister(ctx):
            walk(command.get_command(ctx, name), (*path, name))  # type: ignore[attr-defined]

    walk(root, ())
    return paths


PATHS = command_paths()


def test_the_tree_holds_every_command_and_subcommand() -> None:
    assert {path[0] for path in PATHS if path} == {entry.name for entry in COMMANDS}
    for path in [("models", "show"), ("jobs", "resume"), ("config", "set"), ("completion", "show")]:
        assert path in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "(root)")
def test_help_exits_0_and_shows_an_example(path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Example" in result.stdout
    assert result.stdout.startswith(f"Usage: alltoken-agent {' '.join(path)}".rstrip())
    assert "╭" not in result.stdout  # plain Click layout, not Rich panels
    assert "--install-completion" not in result.stdout  # `completion` does that
    assert run_cli(*path, "-h").stdout == result.stdout


def test_the_root_help_lists_every_command_with_its_line_from_the_table() -> None:
    out = run_cli("--help").stdout
    commands = out.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in commands] == [entry.name for entry in COMMANDS]
    for line, entry in zip(commands, COMMANDS, strict=True):
        assert line.split(None, 1)[1] == entry.help


def test_table_lines_fit_80_columns_and_match_the_loaded_commands() -> None:
    width = max(len(entry.name) for entry in COMMANDS)
    for entry in COMMANDS:
        assert 2 + width + 2 + len(entry.help) <= 80, entry.name
        assert entry.help.endswith(".") and "\n" not in entry.help
        command = load_command(entry)
        assert command.name == entry.name
        assert command.get_short_help_str(200) == entry.help


def test_no_arguments_prints_the_help() -> None:
    result = run_cli()
    assert result.exit_code == 2  # Click's no_args_is_help convention
    assert "Commands:" in result.stdout + result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"alltoken-agent {__version__}\n"


def test_a_mistyped_command_gets_a_suggestion_from_the_table() -> None:
    result = run_cli("chta", "hello")
    assert result.exit_code == 2
    assert "No such command 'chta'" in result.stderr and "Did you mean 'chat'?" in result.stderr


def test_the_image_help_names_the_media_default_model() -> None:
    from alltoken_agent.media import DEFAULT_IMAGE_MODEL

    assert f"[default: {DEFAULT_IMAGE_MODEL}]" in run_cli("image", "--help").stdout
