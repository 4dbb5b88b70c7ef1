"""A dead endpoint prints one error line; retries are told only with -v, or with --json.

Every command that talks to a gateway does as `chat` does: without `-v` the person sees
the one line that says what failed, not one line per retry before it.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cli.helpers import ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY

CONFIG = "[retry]\nmax_retries = 2\nbase_delay = 0\nmax_delay = 0\n"
KEY_ENV = {"ALLTOKEN_API_KEY": TEST_KEY}

COMMANDS = {
    "image": ["image", "a fox", "-o"],
    "video": ["video", "a fox", "-o"],
    "models": ["models"],
    "models show": ["models", "show", "gpt-5.4"],
    "health": ["health"],
}


@pytest.fixture
def dead_url(isolated_environment: Path) -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    write_config(isolated_environment, CONFIG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def args_for(name: str, tmp_path: Path, dead_url: str, *flags: str) -> list[str]:
    args = list(COMMANDS[name])
    if args[-1] == "-o":
        args.append(str(tmp_path / "out"))
    return [*args, "--base-url", dead_url, *flags]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_dead_endpoint_prints_one_error_line(name: str, dead_url: str, tmp_path: Path) -> None:
    result = run_cli(*args_for(name, tmp_path, dead_url), env=KEY_ENV)
    assert result.exit_code == 6, result.stderr
    lines = result.stderr.splitlines()
    assert not [line for line in lines if "retrying" in line]
    assert len([line for line in lines if line.startswith("error:")]) == 1, lines
    assert "connection_error" in result.stderr


@pytest.mark.parametrize("name", ["image", "models"])
def test_verbose_prints_a_line_per_retry(name: str, dead_url: str, tmp_path: Path) -> None:
    result = run_cli(*args_for(name, tmp_path, dead_url, "-v"), env=KEY_ENV)
    assert result.exit_code == 6, result.stderr
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(retries) >= 2 and "(retry 1)" in retries[0] and "(retry 2)" in retries[1]


@pytest.mark.parametrize("name", ["image", "models"])
def test_json_has_the_retry_events_and_no_retry_lines(
    name: str, dead_url: str, tmp_path: Path
) -> None:
    result = run_cli(*args_for(name, tmp_path, dead_url, "--json"), env=KEY_ENV)
    assert result.exit_code == 6, result.stderr
    events = ndjson(result.stdout)
    retries = [e for e in events if e["event"] == "retry"]
    assert [e["attempt"] for e in retries][:2] == [1, 2]
    assert retries[0]["code"] == "connection_error"
    assert events[-1]["event"] == "error"
    assert "retrying" not in result.stderr


def test_check_tells_of_retries_only_with_verbose(dead_url: str) -> None:
    quiet = run_cli("check", "--base-url", dead_url, env=KEY_ENV)
    loud = run_cli("check", "--base-url", dead_url, "-v", env=KEY_ENV)
    assert quiet.exit_code == loud.exit_code == 6
    assert "retrying" not in quiet.stderr
    assert "(retry 2)" in loud.stderr


def test_every_failure_line_starts_with_the_same_prefix(dead_url: str, tmp_path: Path) -> None:
    # `check` says its failure in a summary line of its own; it starts like the error
    # line of every other command (Ctrl-C's line too: tests/cli/test_sigterm.py).
    check = run_cli("check", "--base-url", dead_url, env=KEY_ENV)
    models = run_cli("models", "--base-url", dead_url, env=KEY_ENV)
    (check_line,) = check.stderr.splitlines()
    (models_line,) = models.stderr.splitlines()
    assert check_line.startswith("error: integration check failed")
    assert models_line.startswith("error: ")
