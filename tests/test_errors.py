"""Errors as data: a stable `code` and `to_dict()` on every error, one shape for every front end."""

from __future__ import annotations

import json

import pytest

from alltoken_agent import (
    AllModelsFailedError,
    AllTokenAgentError,
    BudgetExceededError,
    ConfigError,
    MaxStepsExceededError,
    MediaJobError,
    RateLimitError,
    ToolError,
    UserError,
)
from alltoken_agent.cli.output import error_payload
from alltoken_agent.errors import StreamTimeoutError
from alltoken_agent.mcp.errors import error_result


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UserError("bad line"), "invalid_input"),
        (ConfigError("no key"), "config_error"),
        (BudgetExceededError("over"), "budget_exceeded"),
        (ToolError("broke"), "tool_error"),
        (MaxStepsExceededError("steps"), "max_steps_exceeded"),
        (MediaJobError("failed"), "media_job_failed"),
        (MediaJobError("failed", code="upstream_error"), "upstream_error"),
        (AllTokenAgentError("odd"), "alltoken_agent_error"),
    ],
)
def test_every_error_has_a_stable_code_and_json_fields(
    error: AllTokenAgentError, code: str
) -> None:
    fields = error.to_dict()
    assert fields["code"] == error.code == code
    assert fields["type"] == type(error).__name__ and fields["message"]
    json.dumps(fields)  # JSON-ready as it is


def test_a_gateway_error_carries_its_wire_facts() -> None:
    error = RateLimitError("slow down", status=429, code="rate_limit_exceeded", request_id="r1")
    error.attempts = 3
    assert error.to_dict() == {
        "code": "rate_limit_exceeded",
        "status": 429,
        "message": "slow down",
        "request_id": "r1",
        "attempts": 3,
        "type": "RateLimitError",
    }


def test_a_broken_stream_says_it_is_incomplete_without_its_text() -> None:
    error = StreamTimeoutError("quiet", partial_text="half an answ", code="idle_timeout")
    fields = error.to_dict()
    assert (fields["complete"], fields["partial_chars"]) == (False, 12)
    assert "half" not in json.dumps(fields)


def test_a_media_failure_names_the_job_and_the_gateway_error_that_ended_it() -> None:
    cause = RateLimitError("slow", status=429, request_id="r9")
    try:
        raise MediaJobError("gave up", job_id="j1", status="pending") from cause
    except MediaJobError as error:
        fields = error.to_dict()
    assert fields["job_id"] == "j1" and fields["job_status"] == "pending"
    assert (fields["status"], fields["request_id"]) == (429, "r9")


def test_every_model_of_a_failed_fallback_is_listed() -> None:
    error = AllModelsFailedError(
        [("a", RateLimitError("x", status=429)), ("b", RateLimitError("y", status=429))]
    )
    fields = error.to_dict()
    assert fields["code"] == "all_models_failed"
    assert fields["failures"] == [
        {"model": "a", "code": "rate_limited"},
        {"model": "b", "code": "rate_limited"},
    ]


@pytest.mark.parametrize(
    "error",
    [
        UserError("bad line"),
        BudgetExceededError("over the daily budget"),
        MediaJobError("failed", job_id="j1", code="upstream_error"),
        AllModelsFailedError([("a", RateLimitError("x", status=429))]),
        StreamTimeoutError("quiet", partial_text="abc"),
    ],
)
def test_the_cli_event_and_the_mcp_result_carry_the_same_fields(
    error: AllTokenAgentError,
) -> None:
    """They once built their own: the CLI said `UserError` where MCP said `invalid_input`."""
    structured = error_result(error).structured_content
    assert structured is not None
    assert error_payload(error) == structured["error"] == error.to_dict()
