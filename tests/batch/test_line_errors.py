"""A failed line's `error` is the error's own `to_dict()`, the shape every front end uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alltoken_agent.agent.events import ErrorEvent
from alltoken_agent.batch.turn import error_fields
from alltoken_agent.errors import BudgetExceededError, StreamInterruptedError
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY


def test_a_gateway_error_line_carries_the_errors_own_fields(sim: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"prompt": "[[reply a]]", "id": "q1"}) + "\n")
    out = tmp_path / "out.jsonl"
    sim.state.enqueue_faults(["401"] * 3)

    result = run_cli(
        "batch",
        str(source),
        "-o",
        str(out),
        "--base-url",
        sim.base_url,
        "--tools",
        "none",
        env={"ALLTOKEN_API_KEY": TEST_KEY},
    )

    assert result.exit_code == 3, result.stderr
    [line] = [json.loads(text) for text in out.read_text().splitlines()]
    error = line["error"]
    assert error["type"] == "AuthenticationError" and error["status"] == 401
    assert error["attempts"] == 1 and "request_id" in error
    assert set(error) == {"code", "status", "message", "request_id", "attempts", "type"}
    assert TEST_KEY not in out.read_text()


def test_error_fields_and_the_error_event_use_to_dict() -> None:
    broken = StreamInterruptedError("cut", partial_text="abc", status=200, code="stream_cut")
    budget = BudgetExceededError("over the daily budget")
    for error in (broken, budget):
        assert error_fields(error) == error.to_dict()
        assert ErrorEvent(error).to_dict()["error"] == error.to_dict()
    assert error_fields(broken)["partial_chars"] == 3 and error_fields(broken)["complete"] is False
    assert error_fields(budget)["code"] == "budget_exceeded"


def test_a_foreign_exception_is_named_by_its_class() -> None:
    assert error_fields(KeyError("x")) == {"code": "KeyError", "message": "'x'", "type": "KeyError"}
    # The agent's error event names it the same way (it had no code before).
    assert ErrorEvent(ValueError("bad"), source="hook").to_dict()["error"] == {
        "code": "ValueError",
        "message": "bad",
        "type": "ValueError",
    }
