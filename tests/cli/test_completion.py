"""Shell completion: the scripts, installing them, and answering a shell's requests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alltoken_agent.cli.app import COMMANDS
from tests.cli.helpers import run_cli

BIN = Path(sys.executable).parent


def complete(words: str, cword: int, instruction: str = "complete_bash") -> list[str]:
    """What the CLI answers bash for ``COMP_WORDS=words`` (in-process)."""
    env = {"_ALLTOKEN_AGENT_COMPLETE": instruction, "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = run_cli(env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.split()


@pytest.mark.parametrize(
    ("shell", "needle"),
    [
        ("bash", "_ALLTOKEN_AGENT_COMPLETE=complete_bash $1"),
        ("zsh", "#compdef alltoken-agent"),
        ("fish", "complete --command alltoken-agent"),
    ],
)
def test_show_prints_the_script_for_each_shell(shell: str, needle: str) -> None:
    result = run_cli("completion", "show", shell)
    assert result.exit_code == 0, result.stderr
    assert needle in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_show_defaults_to_the_login_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/usr/bin/zsh")
    assert run_cli("completion", "show").stdout == run_cli("completion", "show", "zsh").stdout
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    result = run_cli("completion", "show")
    assert result.exit_code == 2
    assert "cannot tell which shell" in result.stderr and "bash, zsh or fish" in result.stderr
    assert run_cli("completion", "show", "tcsh").exit_code == 2


@pytest.mark.parametrize(
    ("shell", "script", "startup"),
    [
        ("bash", ".bash_completions/alltoken-agent.sh", ".bashrc"),
        ("zsh", ".zfunc/_alltoken-agent", ".zshrc"),
        ("fish", ".config/fish/completions/alltoken-agent.fish", None),
    ],
)
def test_install_writes_the_script_under_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shell: str, script: str, startup: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli("completion", "install", shell)
    assert result.exit_code == 0, result.stderr
    installed = tmp_path / script
    assert f"installed {shell} completion for alltoken-agent in {installed}" in result.stdout
    shown = run_cli("completion", "show", shell).stdout
    assert installed.read_text().strip() == shown.strip()
    if startup is not None:
        assert (tmp_path / startup).is_file()


def test_command_names_complete_from_the_table() -> None:
    assert complete("alltoken-agent co", 1) == ["config", "completion"]
    assert complete("alltoken-agent ", 1) == [entry.name for entry in COMMANDS]


def test_clicks_spelling_of_the_instruction_works_too() -> None:
    assert complete("alltoken-agent co", 1, "bash_complete") == ["config", "completion"]


def test_subcommands_options_and_choices_complete() -> None:
    assert complete("alltoken-agent config s", 2) == ["show", "set"]
    assert complete("alltoken-agent models --ca", 2) == ["--catalog"]
    assert complete("alltoken-agent completion show ", 3) == ["bash", "zsh", "fish"]
    assert complete("alltoken-agent --ver", 1) == ["--version"]


def test_zsh_gets_names_with_their_help() -> None:
    env = {"_ALLTOKEN_AGENT_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "alltoken-agent ch"}
    result = run_cli(env=env)
    assert result.exit_code == 0
    assert '"chat":"Send a message to an agent and stream its reply."' in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("program", ["alltoken-agent", "ata"])
def test_bash_completes_with_the_installed_script(program: str) -> None:
    """End to end: bash sources the script and calls its function, as on Tab."""
    script = f"""
source <({program} completion show bash)
COMP_WORDS=({program} config s); COMP_CWORD=2
_{program.replace("-", "_")}_completion {program}
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "--norc", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["show", "set"]
    assert "Traceback" not in done.stderr
