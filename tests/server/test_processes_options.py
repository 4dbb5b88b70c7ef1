"""`serve --processes N` and ``[server] processes``: what is refused before anything starts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import uvicorn.config
from uvicorn.logging import AccessFormatter, DefaultFormatter

from alltoken_agent import load_config
from alltoken_agent.server.processes import tagged_log_config
from tests.cli.helpers import run_cli, write_config


@pytest.fixture(autouse=True)
def no_server_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_KEYS", raising=False)
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_STORE", raising=False)


def test_offline_with_several_processes_is_refused() -> None:
    result = run_cli("serve", "--offline", "--port", "0", "--processes", "2")
    assert result.exit_code == 2
    assert "--offline keeps the gateway simulator inside each server process" in result.stderr
    assert "--base-url" in result.stderr
    assert "server on" not in result.stdout


def test_offline_with_processes_from_the_config_file_is_refused(isolated_environment: Path) -> None:
    write_config(isolated_environment, "[server]\nprocesses = 3\n")
    result = run_cli("serve", "--offline", "--port", "0")
    assert result.exit_code == 2
    assert "--offline keeps the gateway simulator inside each server process" in result.stderr


@pytest.mark.parametrize("count", ["0", "-1", "257"])
def test_a_process_count_out_of_range_is_a_usage_error(count: str) -> None:
    result = run_cli("serve", "--offline", "--port", "0", "--processes", count)
    assert result.exit_code == 2
    assert "--processes" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_config_file_refuses_zero_processes(isolated_environment: Path) -> None:
    write_config(isolated_environment, "[server]\nprocesses = 0\n")
    result = run_cli("serve", "--offline", "--port", "0")
    assert result.exit_code == 2
    assert "processes" in result.stderr


def test_processes_default_to_one(isolated_environment: Path) -> None:
    assert load_config(isolated_environment / "none.toml").server.processes == 1
    write_config(isolated_environment, "[server]\nprocesses = 4\n")
    assert load_config(isolated_environment / "config" / "config.toml").server.processes == 4


def test_help_says_the_limits_count_per_process() -> None:
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "--processes" in text
    assert "count per process" in text


def test_each_processs_log_lines_carry_its_tag() -> None:
    tagged = tagged_log_config(uvicorn.config.LOGGING_CONFIG, "process 2/3")
    assert "process" not in uvicorn.config.LOGGING_CONFIG["formatters"]["default"]["fmt"]
    default = DefaultFormatter(tagged["formatters"]["default"]["fmt"], use_colors=False)
    access = AccessFormatter(tagged["formatters"]["access"]["fmt"], use_colors=False)
    said = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "hello", (), None)
    request = ("127.0.0.1:5", "GET", "/healthz", "1.1", 200)
    served = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', request, None
    )
    assert default.format(said) == "INFO:     [process 2/3] hello"
    ours = tagged["loggers"]["alltoken_agent"]  # the package's warnings: tagged, not bare
    assert ours["handlers"] == ["default"] and ours["level"] == "WARNING"
    assert "alltoken_agent" not in uvicorn.config.LOGGING_CONFIG["loggers"]
    assert access.format(served) == (
        'INFO:     [process 2/3] 127.0.0.1:5 - "GET /healthz HTTP/1.1" 200 OK'
    )


def test_the_store_is_opened_by_the_parent_before_any_process_starts() -> None:
    result = run_cli(
        "serve",
        "--port",
        "0",
        "--processes",
        "2",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--store",
        "bogus://nowhere",
    )
    assert result.exit_code == 2
    assert "invalid database URL bogus://nowhere" in result.stderr
    assert "server processes share the port" not in result.stderr  # none was started
    assert "Traceback" not in result.stderr and result.stdout == ""
