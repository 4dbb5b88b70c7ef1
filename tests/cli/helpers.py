"""Running the CLI in-process, the way a user would call it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from alltoken_agent.cli.app import app


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Invoke ``alltoken-agent ARGS``; stdout and stderr stay separate."""
    return CliRunner().invoke(app, list(args), input=input, env=env, catch_exceptions=False)


def ndjson(text: str) -> list[dict[str, Any]]:
    """Parse every stdout line as JSON (fails the test if one is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_config(home: Path, text: str) -> None:
    """Write the user config file under ALLTOKEN_AGENT_HOME."""
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


FAST_RETRY_CONFIG = "[retry]\nmax_retries = 1\nbase_delay = 0\nmax_delay = 0\n"
