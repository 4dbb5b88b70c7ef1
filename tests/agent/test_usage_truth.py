"""The agent keeps unknown usage and cost unknown, and says so with a ``notice`` event."""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import Agent, calculate
from alltoken_agent.agent import NoticeEvent
from alltoken_agent.gateway.accounting import USAGE_MISSING
from tests.gateway.helpers import gateway_for


async def _run(sim: Any, faults: list[str], prompt: str = "Hello there") -> tuple[Any, list[Any]]:
    sim.state.enqueue_faults(faults)
    async with gateway_for(sim) as gateway:
        agent = Agent(gateway=gateway, tools=[calculate])
        run = agent.stream(prompt)
        events = [event async for event in run]
    return run.result, events


async def test_a_reply_without_usage_and_done_leaves_the_run_usage_unknown(sim: Any) -> None:
    result, events = await _run(sim, ["no_usage_done"])
    assert result.stop_reason == "stop" and "simulated" in result.text.lower()
    assert result.usage is None and result.cost is None
    notices = [e for e in events if isinstance(e, NoticeEvent)]
    assert [(n.code, n.message) for n in notices] == [("usage_missing", USAGE_MISSING.message)]
    assert not [e for e in events if e.name == "usage"]  # no made-up usage event
    assert notices[0].to_dict() == {
        "event": "notice",
        "message": USAGE_MISSING.message,
        "code": "usage_missing",
    }


async def test_one_step_of_unknown_usage_makes_the_whole_run_unknown(sim: Any) -> None:
    # Step 1 (the tool call) ends without usage; step 2 (the answer) is normal.
    result, events = await _run(sim, ["no_usage_done"], "What is 6 * 7? Use the calculator.")
    assert result.steps == 2 and [c.name for c in result.tool_calls] == ["calculate"]
    usage_events = [e for e in events if e.name == "usage"]
    assert len(usage_events) == 1 and usage_events[0].usage.prompt_tokens > 0
    assert result.usage is None  # not the second step's tokens passing for the run's
    assert result.cost is None


async def test_a_normal_run_still_sums_usage_and_has_no_notice(sim: Any) -> None:
    result, events = await _run(sim, [], "What is 6 * 7? Use the calculator.")
    assert result.steps == 2
    assert result.usage is not None and result.usage.prompt_tokens > 0
    assert not [e for e in events if isinstance(e, NoticeEvent)]


@pytest.mark.parametrize(
    ("fault", "code"),
    [("bad_cost:-1", "cost_invalid"), ("bad_usage:prompt_tokens=-1", "usage_invalid")],
)
async def test_invalid_accounting_is_a_notice_not_a_crash(sim: Any, fault: str, code: str) -> None:
    result, events = await _run(sim, [fault])
    assert result.text and result.stop_reason == "stop"
    notices = [e for e in events if isinstance(e, NoticeEvent)]
    assert [n.code for n in notices] == [code]
    if code == "cost_invalid":
        assert result.cost is None and result.usage is not None
    else:
        assert result.usage is None and result.cost is not None


async def test_run_hooks_hear_the_notice(sim: Any) -> None:
    sim.state.enqueue_faults(["no_usage_done"])
    heard: list[tuple[str, str | None]] = []
    async with gateway_for(sim) as gateway:
        agent = Agent(gateway=gateway, tools=[])
        agent.on("notice", lambda message, code: heard.append((message, code)))
        result = await agent.run("Hello")
    assert heard == [(USAGE_MISSING.message, "usage_missing")]
    assert result.usage is None


def test_a_runs_usage_is_the_sum_of_its_requests_and_unknown_if_one_is() -> None:
    from alltoken_agent import Usage
    from alltoken_agent.agent.result import add_usage, reply_totals
    from alltoken_agent.gateway import ChatResult

    first = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, reasoning_tokens=2)
    second = Usage(prompt_tokens=7, completion_tokens=3, total_tokens=10, cached_tokens=4)

    def usage_of(*usages: Usage | None) -> Usage | None:
        return reply_totals([ChatResult("x", usage=usage) for usage in usages])[0]

    assert usage_of() == Usage()  # no request yet: nothing used
    assert usage_of(first, second) == add_usage(add_usage(Usage(), first), second)
    assert usage_of(first, second) == Usage(
        prompt_tokens=17, completion_tokens=8, total_tokens=25, reasoning_tokens=2, cached_tokens=4
    )
    assert usage_of(first, None, second) is None  # one unknown: unknown, never a made-up count


def test_a_turns_totals_come_from_its_replies_unknown_staying_unknown() -> None:
    from decimal import Decimal

    from alltoken_agent import Usage
    from alltoken_agent.agent.result import reply_totals
    from alltoken_agent.gateway import ChatResult, Cost

    usage = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, reasoning_tokens=2)
    cost = Cost(amount=Decimal("0.0001"))
    known = ChatResult("a", usage=usage, cost=cost, request_id="r1")
    no_usage = ChatResult("b", cost=cost, request_id="r2")
    no_cost = ChatResult("c", usage=usage)
    assert reply_totals([known, known]) == (
        Usage(prompt_tokens=20, completion_tokens=10, total_tokens=30, reasoning_tokens=4),
        Cost(amount=Decimal("0.0002")),
        ["r1", "r1"],
    )
    assert reply_totals([known, no_usage]) == (None, Cost(amount=Decimal("0.0002")), ["r1", "r2"])
    assert reply_totals([no_cost, known]) == (
        Usage(prompt_tokens=20, completion_tokens=10, total_tokens=30, reasoning_tokens=4),
        None,
        ["r1"],
    )
    assert reply_totals([]) == (Usage(), None, [])  # nothing requested: no cost to tell
    # Zero is known, not unknown: a free reply of no tokens still counts.
    free = ChatResult("d", usage=Usage(), cost=Cost(amount=Decimal(0)))
    assert reply_totals([free, free]) == (Usage(), Cost(amount=Decimal(0)), [])


def test_a_turn_of_zero_usage_and_zero_cost_is_known_not_unknown() -> None:
    from decimal import Decimal

    from alltoken_agent import Usage
    from alltoken_agent.agent.result import reply_totals
    from alltoken_agent.gateway import ChatResult, Cost

    free = ChatResult("a", usage=Usage(), cost=Cost(amount=Decimal("0.000")), request_id="")
    usage, cost, request_ids = reply_totals([free, free])
    assert usage == Usage() and usage is not None
    assert cost is not None and str(cost.amount) == "0.000"
    assert request_ids == []  # an empty id is none


def test_a_turns_cache_writes_are_summed_when_every_reply_tells_them() -> None:
    from alltoken_agent import Usage
    from alltoken_agent.agent.result import reply_totals
    from alltoken_agent.gateway import ChatResult

    wrote = Usage(prompt_tokens=10, total_tokens=10, cache_creation_tokens=6)
    none_written = Usage(prompt_tokens=5, total_tokens=5, cache_creation_tokens=0)
    silent = Usage(prompt_tokens=5, total_tokens=5)
    usage = reply_totals([ChatResult("a", usage=wrote), ChatResult("b", usage=none_written)])[0]
    assert usage is not None and usage.cache_creation_tokens == 6
    # One reply that did not say makes the sum unknown, not the sum of those that did.
    usage = reply_totals([ChatResult("a", usage=wrote), ChatResult("b", usage=silent)])[0]
    assert usage is not None and usage.cache_creation_tokens is None
    assert usage.prompt_tokens == 15
