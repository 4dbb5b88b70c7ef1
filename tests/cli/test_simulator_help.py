"""`simulator --help` is followed as written, and its port is nobody else's default."""

from __future__ import annotations

import shlex
from typing import Any

import typer

from alltoken_agent.cli.app import app
from tests.cli.helpers import run_cli


def _example(help_text: str, command: str) -> list[str]:
    lines = [line.strip() for line in help_text.splitlines()]
    return next(shlex.split(line) for line in lines if f"alltoken-agent {command} " in line)


def test_the_help_example_works_with_no_key_set(sim: Any) -> None:
    # The autouse environment fixture has removed every real key.
    shown = run_cli("simulator", "--help")
    assert shown.exit_code == 0
    words = _example(shown.stdout, "chat")
    env: dict[str, str] = {}
    while "=" in words[0]:  # leading NAME=VALUE assignments, as a shell reads them
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "alltoken-agent"
    args = words[1:]
    served = sim.base_url.split("://", 1)[1].removesuffix("/v1")
    args = [arg.replace("127.0.0.1:8765", served) for arg in args]
    assert any(served in arg for arg in args)  # the example points at the simulator
    result = run_cli(*args, env=env)
    assert result.exit_code == 0, result.stderr
    assert "simulated" in result.stdout


def _default(name: str, option: str) -> object:
    """The default of ``option`` of command ``name``, as the real entry point builds it."""
    root = typer.main.get_command(app)
    with root.make_context("alltoken-agent", [name], resilient_parsing=True) as ctx:
        command = root.get_command(ctx, name)  # type: ignore[attr-defined]
    assert command is not None
    [param] = [p for p in command.params if p.name == option]
    return param.default


def test_the_simulator_mcp_http_and_serve_ports_differ() -> None:
    ports = {
        "simulator": _default("simulator", "port"),
        "mcp": _default("mcp", "port"),
        "serve": _default("serve", "port"),
    }
    assert ports["simulator"] == 8765  # the README's and the docs' examples use it
    assert len(set(ports.values())) == 3, ports
    assert "--port 8766" in run_cli("mcp", "--help").stdout
