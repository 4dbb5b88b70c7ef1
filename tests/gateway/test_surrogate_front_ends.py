"""A lone surrogate from the gateway, through the CLI: valid UTF-8 out, the turn saved.

The gateway layer turns it into U+FFFD (tests/gateway/test_lone_surrogate.py); here the
`chat` command runs as a user runs it, against the simulator's `lone_surrogate` fault.
"""

from __future__ import annotations

import json
from typing import Any

from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}
CLEAN = "lone high \ufffd, lone low \ufffd, pair \U0001f600."


def utf8_lines(raw: bytes) -> list[dict[str, Any]]:
    """Every stdout line as JSON, the bytes read as strict UTF-8."""
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def test_chat_json_prints_utf8_lines_and_saves_the_turn(sim: Any) -> None:
    sim.state.enqueue_faults(["lone_surrogate"])
    result = run_cli(
        "chat", "--base-url", sim.base_url, "--tools", "none", "--session", "odd", "--json",
        "hi", env=ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    events = utf8_lines(result.stdout_bytes)
    assert CLEAN in json.dumps(events, ensure_ascii=False)
    shown = run_cli("sessions", "export", "odd", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    messages = json.loads(shown.stdout_bytes.decode("utf-8"))["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[-1]["content"].endswith(" " + CLEAN)
