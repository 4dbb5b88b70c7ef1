"""Colours only on a terminal, none with NO_COLOR, plain text when piped.

CliRunner's output is never a terminal, so the terminal cases run the installed
command in a child process on a pseudo-terminal (``pty``), the way a person runs it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.cli.helpers import run_cli

pytestmark = pytest.mark.slow

ANY_ESCAPE = "\x1b"
STYLE = re.compile(r"\x1b\[[0-9;]*m")
"""An SGR sequence: colour, bold, italics (a progress display also moves the cursor)."""
PROGRAM = str(Path(sys.executable).parent / "alltoken-agent")


def run_on_terminal(*args: str, no_color: bool) -> str:
    """Run ``alltoken-agent ARGS`` with stdout and stderr on a 120x40 pseudo-terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    env["TERM"] = "xterm-256color"
    if no_color:
        env["NO_COLOR"] = "1"
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child = subprocess.Popen(
        [PROGRAM, *args], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert child.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.fixture
def ledger_rows() -> None:
    from alltoken_agent.ledger import Ledger
    from alltoken_agent.store import Store
    from tests.ledger.helpers import gateway_cost, make_record

    now = datetime.now(timezone.utc)
    with Store() as store:
        Ledger(store).record(make_record(started_at=now, cost=gateway_cost("0.0100000000")))


@pytest.mark.parametrize(
    "args",
    [
        ("models", "--offline"),
        ("health", "--routes", "--offline"),
        ("probe", "--offline"),
        ("usage",),
    ],
    ids=lambda args: args[0],
)
def test_tables_have_style_on_a_terminal_and_none_with_no_color(
    args: tuple[str, ...], ledger_rows: None
) -> None:
    styled = run_on_terminal(*args, no_color=False)
    assert STYLE.search(styled)  # the check can see escapes: Rich draws the table
    plain = run_on_terminal(*args, no_color=True)
    assert ANY_ESCAPE not in plain
    assert "─" in plain  # still the terminal layout, only without colour or bold


def test_the_media_progress_display_has_no_colour_with_no_color(tmp_path: Path) -> None:
    out = run_on_terminal("image", "a fox", "--offline", "-o", str(tmp_path), no_color=True)
    assert not STYLE.search(out)
    assert "job_" in out and list(tmp_path.glob("job_*.png"))


@pytest.mark.parametrize(
    "args",
    [
        ("models", "--offline"),
        ("models", "--catalog", "--sort", "price", "--offline"),
        ("health", "--routes", "--offline"),
        ("probe", "--offline"),
        ("usage",),
        ("jobs", "list"),
        ("config", "show"),
        ("--help",),
    ],
    ids=" ".join,
)
def test_piped_output_is_plain_text(args: tuple[str, ...], ledger_rows: None) -> None:
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": ""}):
        result = run_cli(*args, env=env)
        assert result.exit_code == 0, result.stderr
        assert ANY_ESCAPE not in result.stdout + result.stderr
        assert "│" not in result.stdout and "─" not in result.stdout
