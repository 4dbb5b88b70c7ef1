"""`chat` on a terminal renders Markdown as it streams; piped, it prints the plain text."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TOOL_THEN_BOLD = '[[call calculate {"expression": "6*7"}]] [[then]] [[reply It is **42** here.]]'


def _on_a_terminal(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the real CLI with stdout and stderr on a pseudo-terminal; all it drew, decoded."""
    master, slave = os.openpty()
    outer = {k: v for k, v in os.environ.items() if k != "NO_COLOR" and k != "FORCE_COLOR"}
    env = {
        **{k: v for k, v in outer.items() if not k.startswith("ALLTOKEN")},
        "ALLTOKEN_AGENT_HOME": str(home),
        "COLUMNS": "100",
        "LINES": "40",
        "TERM": "xterm-256color",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "chat", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    code = process.wait(timeout=30)
    os.close(master)
    return code, seen.decode(errors="replace")


@pytest.mark.slow
def test_a_terminal_shows_markdown_rendered_and_one_line_per_tool_call(
    isolated_environment: Path,
) -> None:
    code, drawn = _on_a_terminal(isolated_environment, "--offline", "--yes", TOOL_THEN_BOLD)
    assert code == 0, drawn
    assert "\x1b[1m42" in drawn  # bold, as an escape
    assert "**" not in drawn  # the Markdown markers are rendered, not printed
    calls = [line for line in drawn.splitlines() if "calculate(" in line]
    assert len(calls) == 1 and '→ calculate({"expression": "6*7"})' in calls[0]


@pytest.mark.slow
def test_reasoning_is_a_dimmed_block_above_the_answer(isolated_environment: Path) -> None:
    code, drawn = _on_a_terminal(
        isolated_environment, "--offline", "--thinking", "--tools", "none", "[[reply **Yes**]]"
    )
    assert code == 0, drawn
    reasoning = drawn.rindex("Simulated reasoning")
    assert "\x1b[2" in drawn[reasoning - 8 : reasoning]  # dim starts just before it
    assert drawn.rindex("\x1b[1mYes") > reasoning


@pytest.mark.slow
def test_no_color_renders_markdown_without_escapes(isolated_environment: Path) -> None:
    code, drawn = _on_a_terminal(
        isolated_environment, "--offline", "[[reply It is **42**.]]", env={"NO_COLOR": "1"}
    )
    assert code == 0, drawn
    assert "It is 42." in drawn and "\x1b[1m" not in drawn


@pytest.mark.slow
def test_an_interrupted_stream_ends_its_line(sim: Any, isolated_environment: Path) -> None:
    sim.state.enqueue_faults(["eof:3"] * 10)
    code, drawn = _on_a_terminal(
        isolated_environment,
        "--base-url",
        sim.base_url,
        "--tools",
        "none",
        "[[reply one two three four five six seven]]",
        env={"ALLTOKEN_API_KEY": TEST_KEY},
    )
    assert code != 0, drawn
    lines = [CSI.sub("", line).strip() for line in drawn.splitlines()]
    assert "one two" in lines, drawn  # the text that arrived, on a line of its own
    assert [line for line in lines if "stream_interrupted" in line][0].startswith("error:")


def test_piped_output_keeps_the_plain_text() -> None:
    result = run_cli("chat", "--offline", "--yes", TOOL_THEN_BOLD)
    assert result.exit_code == 0
    assert result.stdout == "It is **42** here.\n"
