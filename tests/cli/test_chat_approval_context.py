"""`chat` with tools that need approval, and long sessions over a small context window."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY

APPROVE_CALCULATE = '[approval]\ntools = ["calculate"]\n'
PROMPT = '[[call calculate {"expression": "6*7"}]]'


def tool_results(sim: Any) -> list[str]:
    last = [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1]
    return [m["content"] for m in last.json["messages"] if m["role"] == "tool"]


def test_a_script_without_yes_is_denied_with_a_hint(sim: Any, isolated_environment: Path) -> None:
    write_config(isolated_environment, APPROVE_CALCULATE)
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "--json", PROMPT, env=env)
    assert result.exit_code == 0
    approval = next(e for e in ndjson(result.stdout) if e["event"] == "tool:approval")
    assert approval["decision"] == "deny" and approval["tool_name"] == "calculate"
    assert tool_results(sim)[0].startswith("Error: the call was not run")
    plain = run_cli("chat", "--base-url", sim.base_url, PROMPT, env=env)
    assert "pass --yes" in plain.stderr


@pytest.mark.slow
def test_yes_approves(sim: Any, isolated_environment: Path) -> None:
    write_config(isolated_environment, APPROVE_CALCULATE)
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "--yes", PROMPT, env=env)
    assert result.exit_code == 0 and "42" in result.stdout
    assert tool_results(sim) == ['{"expression": "6*7", "result": 42}']


def _run_on_a_terminal(sim: Any, home: Path, answers: list[bytes]) -> tuple[int, str, str]:
    """Run the CLI with stdin and stderr on a real pseudo-terminal and answer its prompts."""
    master, slave = os.openpty()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ALLTOKEN")},
        "ALLTOKEN_AGENT_HOME": str(home),
        "ALLTOKEN_API_KEY": TEST_KEY,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "chat", "--base-url", sim.base_url, PROMPT],
        stdin=slave,
        stderr=slave,
        stdout=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    pending = list(answers)
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
        prompt_count = seen.count(b"[y]es") + seen.count(b"New arguments")
        answered = len(answers) - len(pending)
        if pending and prompt_count > answered:
            os.write(master, pending.pop(0))
    out, _ = process.communicate(timeout=30)
    os.close(master)
    return process.returncode, out.decode(), seen.decode(errors="replace")


@pytest.mark.slow
def test_a_terminal_is_asked_and_can_edit(sim: Any, isolated_environment: Path) -> None:
    write_config(isolated_environment, APPROVE_CALCULATE)
    code, out, terminal = _run_on_a_terminal(
        sim, isolated_environment, [b"e\n", b'{"expression": "2*2"}\n']
    )
    assert code == 0, terminal
    assert "Allow calculate" in terminal
    assert tool_results(sim) == [
        'Note: the user changed the arguments to {"expression": "2*2"}.\n'
        '{"expression": "2*2", "result": 4}'
    ]


@pytest.mark.slow
def test_a_terminal_can_decline(sim: Any, isolated_environment: Path) -> None:
    write_config(isolated_environment, APPROVE_CALCULATE)
    code, _, terminal = _run_on_a_terminal(sim, isolated_environment, [b"n\n"])
    assert code == 0, terminal
    assert tool_results(sim) == ["Error: the call was not run: the user declined this call"]


@pytest.mark.slow
def test_a_long_session_keeps_answering_within_a_small_context(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, '[context]\nlengths = { "minimax-m2.7" = 3000 }\n')
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    sizes = []
    for turn in range(8):
        prompt = f"turn {turn}: " + "lorem ipsum " * 150
        result = run_cli(
            "chat",
            "--base-url",
            sim.base_url,
            "--session",
            "long",
            "--tools",
            "none",
            prompt,
            env=env,
        )
        assert result.exit_code == 0, result.stderr
        assert "simulated" in result.stdout.lower()
        sent = [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1]
        sizes.append(len(sent.json["messages"]))
    assert max(sizes) < 2 * 8 + 1  # trimmed: not every earlier turn is sent
    assert sizes[-1] == sizes[-2]  # steady state: the window slides
    assert "left out" in result.stderr
