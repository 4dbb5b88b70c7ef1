"""Bad input from the user is one clear line and exit 2, never an "unexpected" error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alltoken_agent.cli.app import app
from tests.cli.helpers import run_cli

NOT_UTF8 = b"caf\xe9"
ESCAPED = NOT_UTF8.decode("utf-8", "surrogateescape")
"""What Python makes of those bytes on a command line: 'caf' and a lone surrogate."""
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def _cli(home: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run the real program, so argv and stdin hold the raw bytes a shell would pass."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["ALLTOKEN_AGENT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "alltoken_agent", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def _one_clear_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    assert lines, "nothing on stderr"
    text = "\n".join(lines)
    assert "unexpected" not in text and "Traceback" not in text, text
    return lines[-1]


@pytest.mark.slow
def test_stdin_that_is_not_utf8_is_exit_2(isolated_environment: Path) -> None:
    result = _cli(isolated_environment, "chat", "--offline", stdin=NOT_UTF8)
    assert result.returncode == 2
    line = _one_clear_line(result.stderr)
    assert line.startswith("error: the prompt on stdin is not UTF-8 text (byte 0xe9 at offset 3)")
    assert result.stdout == b""


def test_stdin_with_nul_bytes_is_exit_2(isolated_environment: Path) -> None:
    result = _cli(isolated_environment, "chat", "--offline", stdin=b"abc\x00def")
    assert result.returncode == 2
    assert "holds NUL bytes" in _one_clear_line(result.stderr)


@pytest.mark.slow
def test_stdin_under_a_c_locale_is_exit_2(isolated_environment: Path) -> None:
    """Under the C locale Python would read stdin with escapes instead of failing."""
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    env["ALLTOKEN_AGENT_HOME"] = str(isolated_environment)
    result = subprocess.run(
        [sys.executable, "-m", "alltoken_agent", "chat", "--offline"],
        input=NOT_UTF8,
        capture_output=True,
        env={k: v for k, v in env.items() if not k.endswith("_API_KEY")},
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "not UTF-8 text" in _one_clear_line(result.stderr)


@pytest.mark.slow
def test_a_prompt_argument_that_is_not_utf8_is_exit_2(isolated_environment: Path) -> None:
    result = _cli(isolated_environment, "chat", ESCAPED, "--offline")
    assert result.returncode == 2
    assert _one_clear_line(result.stderr) == (
        "error: PROMPT is not valid UTF-8 text (byte 0xe9); pass UTF-8 text"
    )


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (("chat", "hi", "--offline", "--session", ESCAPED), "--session"),
        (("chat", "hi", "--offline", "-s", ESCAPED), "--system"),
        (("usage", "--session", ESCAPED), "--session"),
        (("jobs", "show", ESCAPED), "JOB_ID"),
        (("image", ESCAPED, "--offline"), "PROMPT"),
    ],
)
def test_any_flag_or_argument_that_is_not_utf8_is_named_and_exit_2(
    args: tuple[str, ...], label: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {label} is not valid UTF-8 text (byte 0xe9); pass UTF-8 text"
    )


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_session_name_is_exit_2_and_sends_nothing(name: str) -> None:
    # It used to be taken as no session at all: the turn ran and was kept nowhere.
    result = run_cli("chat", "hi", "--offline", "--session", name)
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"error: a session name must be a non-empty string, not {name!r}"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["image", "video"])
def test_a_binary_batch_file_is_exit_2(command: str, tmp_path: Path) -> None:
    batch = tmp_path / "picture.png"
    batch.write_bytes(PNG)
    result = run_cli(command, "--offline", "--batch", str(batch))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: the batch file {batch} is not UTF-8 text (byte 0x89 at offset 0); "
        "give it text, not a binary file"
    )


def test_a_batch_file_with_nul_bytes_is_exit_2(tmp_path: Path) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_bytes(b"a red fox\n\x00\x00\x00\n")
    result = run_cli("image", "--offline", "--batch", str(batch))
    assert result.exit_code == 2
    assert "holds NUL bytes" in result.stderr


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("99999999999d", "reaches back before the year 1"),
        ("99999999999999999999999999h", "reaches back before the year 1"),
        ("9999-12-31T23:59:59-05:00", "is out of range"),
    ],
)
def test_usage_since_out_of_range_is_exit_2(since: str, message: str) -> None:
    result = run_cli("usage", "--since", since)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("error: --since: ") and message in line
    assert "\n" not in line


def test_config_set_of_a_value_that_is_not_utf8_writes_nothing(
    isolated_environment: Path,
) -> None:
    result = run_cli("config", "set", "model", ESCAPED)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: VALUE is not valid UTF-8 text (byte 0xe9); pass UTF-8 text"
    )
    folder = isolated_environment / "config"
    assert not folder.exists() or list(folder.iterdir()) == []  # no file, no stray temp file


@pytest.mark.slow
def test_stdin_prompt_that_is_utf8_still_works() -> None:
    """The check reads bytes itself; good text must come through unchanged."""
    result = CliRunner().invoke(
        app, ["chat", "--offline"], input="café ☕".encode(), catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    assert "café ☕" in result.stdout


@pytest.mark.parametrize("args", [("config", "set", "model", "x"), ("config",)])
def test_a_config_file_that_is_not_utf8_is_exit_2_and_left_alone(
    isolated_environment: Path, args: tuple[str, ...]
) -> None:
    path = isolated_environment / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'model = "caf\xe9"\n')
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: config file {path} is not UTF-8 text (byte 0xe9 at offset 12); fix it by "
        "hand, or start again with `alltoken-agent config init --force`"
    )
    assert path.read_bytes() == b'model = "caf\xe9"\n'


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["ALLTOKEN_AGENT_MODEL", "ALLTOKEN_API_KEY", "ALLTOKEN_AGENT_HOME"]
)
def test_an_environment_variable_that_is_not_utf8_is_named_not_shown(
    isolated_environment: Path, name: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["ALLTOKEN_AGENT_HOME"] = str(isolated_environment)
    env[name] = "sk-" + ESCAPED  # a key's bytes must not be echoed, not even one
    result = subprocess.run(
        [sys.executable, "-m", "alltoken_agent", "chat", "hi", "--offline"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    line = _one_clear_line(result.stderr)
    assert line == (
        f"error: the environment variable {name} is not valid UTF-8 text; set it to UTF-8 text"
    )
    assert b"caf" not in result.stderr and b"\\udce9" not in result.stderr


@pytest.mark.slow
def test_an_unrelated_environment_variable_is_left_alone(isolated_environment: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["ALLTOKEN_AGENT_HOME"] = str(isolated_environment)
    env["SOMEONE_ELSES_SETTING"] = ESCAPED
    result = subprocess.run(
        [sys.executable, "-m", "alltoken_agent", "chat", "hi", "--offline", "--tools", "none"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
