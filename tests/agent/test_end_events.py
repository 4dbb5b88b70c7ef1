"""The run's end and its retries as events of the one model: ``DoneEvent``, ``RetryEvent``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alltoken_agent import Agent, Gateway, RateLimitError, RetryNotice, calculate
from alltoken_agent.agent import DoneEvent, ErrorEvent, RetryEvent
from alltoken_agent.agent.result import reply_totals
from alltoken_agent.gateway import ChatResult, Cost
from tests.gateway.helpers import gateway_for


def test_a_retry_event_carries_the_notices_attempt_delay_code_and_status() -> None:
    error = RateLimitError("slow down", status=429, code="rate_limit_exceeded")
    event = RetryEvent.from_notice(RetryNotice(attempt=2, delay=1.23456, error=error))
    assert event.to_dict() == {
        "event": "retry",
        "attempt": 2,
        "delay": 1.235,
        "code": "rate_limit_exceeded",
        "status": 429,
    }
    assert event.args == (2, 1.235, "rate_limit_exceeded", 429)


async def test_done_is_built_from_the_runs_result(sim: Any) -> None:
    prompt = 'What is 6*7? [[call calculate {"expression": "6*7"}]]'
    async with gateway_for(sim) as gateway:
        result = await Agent(gateway=gateway, tools=[calculate]).run(prompt)
    done = DoneEvent.from_result(result).to_dict()
    assert list(done) == [
        "event",
        "text",
        "model",
        "stop_reason",
        "steps",
        "usage",
        "cost",
        "request_id",
        "request_ids",
        "tool_calls",
        "simulated",
    ]
    assert done["event"] == "done" and done["text"] == result.text
    assert done["simulated"] is result.simulated is False  # the simulator playing a real one
    assert done["tool_calls"] == [
        {"name": "calculate", "arguments": {"expression": "6*7"}, "is_error": False}
    ]
    assert (
        done["request_ids"] == result.request_ids and done["request_id"] == result.request_ids[-1]
    )
    assert result.usage is not None and done["usage"] == result.usage.to_dict()
    assert result.cost is not None and done["cost"] == result.cost.to_dict()


async def test_an_offline_runs_result_and_done_say_simulated() -> None:
    # Its cost is made up: a reader of the result or of `done` must be able to tell.
    async with Gateway.offline() as gateway:
        result = await Agent(gateway=gateway, tools=[]).run("hi")
    assert result.simulated is True and result.cost is not None
    assert DoneEvent.from_result(result).to_dict()["simulated"] is True


def test_a_runs_cost_is_unknown_when_one_requests_is() -> None:
    def cost_of(*amounts: str | None) -> Cost | None:
        replies = [
            ChatResult("x", cost=None if a is None else Cost(amount=Decimal(a))) for a in amounts
        ]
        return reply_totals(replies)[1]

    assert cost_of() is None  # no request: no cost to report
    assert cost_of("0.1", "0.2") == Cost(amount=Decimal("0.3"))
    assert cost_of("0.1", "0.2", None) is None


def test_an_error_event_of_a_foreign_exception_has_the_clis_and_batchs_fields() -> None:
    from alltoken_agent.batch.turn import error_fields
    from alltoken_agent.cli.output import error_payload

    bug = ValueError("a hook's bug")
    event = ErrorEvent(error=bug, source="hook").to_dict()
    expected = {"code": "ValueError", "message": "a hook's bug", "type": "ValueError"}
    assert event == {"event": "error", "error": expected, "source": "hook"}
    assert error_payload(bug) == error_fields(bug) == expected
