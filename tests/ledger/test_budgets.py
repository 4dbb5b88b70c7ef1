"""Budgets: checked before a request, warning at 80 %, refusing what would cross the limit."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent import BudgetExceededError, RequestRecord, UserError, request_tags
from alltoken_agent.catalog import ModelPrice
from alltoken_agent.config import BudgetSettings
from alltoken_agent.ledger import (
    Budget,
    Budgets,
    Ledger,
    LedgerSpend,
    RunningBudget,
    estimate_request_cost,
    record_cost,
    rough_token_count,
)
from tests.gateway.helpers import gateway_for, user
from tests.ledger.helpers import gateway_cost, make_record

NANO = ModelPrice("gpt-5.4-nano", Decimal("0.0002"), Decimal("0.00125"))


def test_estimate_request_cost_is_prompt_plus_max_tokens_at_list_price() -> None:
    assert estimate_request_cost(NANO, 1000, 1000) == Decimal("0.00145")
    assert estimate_request_cost(NANO, 1000, None) == Decimal("0.0002")  # prompt only
    assert estimate_request_cost(None, 1000, 1000) == Decimal(0)
    assert estimate_request_cost(ModelPrice("image-only", per_image=Decimal("0.04")), 10, 10) == 0


def test_rough_token_count_grows_with_the_conversation() -> None:
    short = rough_token_count([{"role": "user", "content": "hi"}])
    long = rough_token_count([{"role": "user", "content": "x" * 400}])
    parts = rough_token_count([{"role": "user", "content": [{"type": "text", "text": "y" * 400}]}])
    assert short < long == parts == 104


def test_the_daily_budget_refuses_the_request_that_would_cross_it(ledger: Ledger) -> None:
    ledger.record(make_record(started_at=_now(), cost=gateway_cost("0.70")))
    (daily,) = Budgets.from_config(BudgetSettings(daily_usd=Decimal("1.00")), ledger)
    status = daily.check(Decimal("0.05"))
    assert (status.spent, status.remaining, status.warn) == (
        Decimal("0.70"),
        Decimal("0.30"),
        False,
    )
    assert status.fraction_used == pytest.approx(0.7)
    assert daily.check(Decimal("0.10")).warn  # 0.80 of 1.00: warn at 80 %
    with pytest.raises(BudgetExceededError) as caught:
        daily.check(Decimal("0.31"))
    message = str(caught.value)
    assert "daily budget of $1.00" in message and "$0.70 spent" in message
    assert "$0.31" in message and "daily_usd" in message and "not sent" in message


def test_a_reached_limit_refuses_even_requests_of_unknown_price(ledger: Ledger) -> None:
    budget = Budget.daily(ledger, "0.50")
    ledger.record(make_record(started_at=_now(), cost=gateway_cost("0.50")))
    with pytest.raises(BudgetExceededError, match=r"\$0.50 spent"):
        budget.check()
    assert budget.status().remaining == 0


def test_no_daily_limit_in_the_config_means_no_budget(ledger: Ledger) -> None:
    budgets = Budgets.from_config(BudgetSettings(), ledger)
    assert len(budgets) == 0 and budgets.check(Decimal("1000")) == []


def test_a_session_budget_counts_only_that_session(ledger: Ledger) -> None:
    ledger.record(make_record(cost=gateway_cost("0.9"), tags={"session": "other"}))
    ledger.record(make_record(cost=gateway_cost("0.3"), tags={"session": "work"}))
    budget = Budget.for_session(ledger, "work", Decimal("0.5"))
    assert budget.check(Decimal("0.2")).spent == Decimal("0.3")
    with pytest.raises(BudgetExceededError, match="session 'work'"):
        budget.check(Decimal("0.21"))
    spec = Budget(Decimal("1"), LedgerSpend(ledger, session="other"), warn_at=0.9)
    assert (
        spec.status().warn
        and not Budget(Decimal("1"), lambda: Decimal("0.89"), warn_at=0.9).status().warn
    )


@pytest.mark.parametrize(
    ("limit", "warn_at"), [("0", 0.8), ("-1", 0.8), ("lots", 0.8), ("1", 0.0), ("1", 1.5)]
)
def test_bad_limits_are_refused(limit: str, warn_at: float) -> None:
    with pytest.raises(UserError):
        Budget(limit, lambda: Decimal(0), warn_at=warn_at)


@pytest.mark.slow
async def test_a_running_budget_counts_the_agents_own_requests(sim: Any) -> None:
    prices = {"gpt-5.4-nano": NANO}.get
    budget = RunningBudget(Decimal("0.0003"), prices=prices, match={"agent": "a1"})
    records: list[RequestRecord] = []
    async with gateway_for(sim) as gateway:
        gateway.add_observer(budget.observer)
        gateway.add_observer(records.append)
        with request_tags(agent="a1"):
            await gateway.stream(user("hello there"), model="gpt-5.4-nano").collect()
            await gateway.chat(user("hello there"), model="gpt-5.4-nano")  # estimated
        with request_tags(agent="someone-else"):
            await gateway.stream(user("not mine"), model="gpt-5.4-nano").collect()
        mine = [r for r in records if r.tags.get("agent") == "a1"]
        costs = [record_cost(r, prices) for r in mine]
        assert [source for _, source in costs] == ["gateway", "estimated"]
        assert budget.total == sum((cost or Decimal(0) for cost, _ in costs), Decimal(0))
        sent = len(sim.state.requests)
        estimate = estimate_request_cost(NANO, 10, 32)
        with request_tags(agent="a1"):
            while True:
                try:
                    budget.check(estimate)
                except BudgetExceededError:
                    break
                await gateway.stream(user("again"), model="gpt-5.4-nano").collect()
    assert len(sim.state.requests) > sent + 1  # it let requests through until ...
    assert budget.total + estimate > budget.limit  # ... the next one could cross the limit
    assert budget.total <= budget.limit
    budget.add(None)
    assert budget.unknown_requests == 1


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def test_the_agents_estimate_counts_the_tool_schemas_it_sends(sim: Any) -> None:
    """A limit the messages alone fit under, but not with the tool schemas: nothing is sent."""
    from alltoken_agent import Agent
    from alltoken_agent.agent import calculate, get_current_time

    tools = [get_current_time, calculate]
    probe = Agent("gpt-5.4-nano", tools=tools)
    messages = [*probe.get_messages(), {"role": "user", "content": "hello there"}]
    schemas = [t.wire_definition() for t in probe.tools]
    assert len(str(schemas)) > 400  # the schemas weigh more than the short prompt
    bare = estimate_request_cost(NANO, rough_token_count(messages), 16)
    async with gateway_for(sim) as gateway:
        agent = Agent(
            "gpt-5.4-nano",
            tools=tools,
            gateway=gateway,
            budget_usd=bare * Decimal("1.05"),
            prices={"gpt-5.4-nano": NANO}.get,
            settings={"max_tokens": 16},
        )
        with pytest.raises(BudgetExceededError, match="agent budget"):
            await agent.send("hello there")
    assert sim.state.requests == []
