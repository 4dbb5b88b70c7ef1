"""A tool conversation made cheaper (issue 23) without changing what anyone sees.

A keyword-only tool whose values already have their parameter's plain type skips
building a model instance; tool results, outcomes, records and run results are built
without their frozen constructors; a step's few new messages are counted in place; a
request's tags are set only when the gateway has observers to stamp. These tests pin
that the answers are the ones the slow way gives.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from pydantic import Field

from alltoken_agent import Agent, Gateway, RequestRecord, tool
from alltoken_agent.agent.context import TokenCounts, count_messages
from alltoken_agent.agent.tool_messages import serialize_result
from alltoken_agent.agent.tools import ToolContext
from tests.gateway.helpers import closes_gateways, gateway_for

_open: list[Gateway] = []
close_gateways = closes_gateways(_open)


@pytest.fixture
async def ctx() -> AsyncIterator[ToolContext]:
    async with Gateway("openai", base_url="http://127.0.0.1:9/v1", api_key="sk-unused") as gw:
        yield ToolContext(gateway=gw, model="m", call_id="call_1", step=1)


class Text(str):
    """A str subclass: validation hands back a plain str for it."""


@tool
def plain(word: str, count: int, ratio: float, flag: bool, context: ToolContext) -> str:
    """Show what arrived, with each value's type.

    Args:
        word: Text.
        count: A whole number.
        ratio: A number.
        flag: Yes or no.
        context: The call.
    """
    seen = [word, count, ratio, flag]
    return json.dumps([[type(v).__name__, v] for v in seen] + [context.call_id])


@tool
def defaults(word: str, count: int = 3, *, flag: bool = False) -> str:
    """Show what arrived.

    Args:
        word: Text.
        count: A whole number.
        flag: Yes or no.
    """
    return json.dumps([word, count, flag])


@tool
def bounded(count: Annotated[int, Field(gt=0)]) -> int:
    """A constrained number.

    Args:
        count: Above zero.
    """
    return count


# -- binding --------------------------------------------------------------------


async def test_values_of_their_parameters_exact_types_reach_the_tool_as_they_are(
    ctx: ToolContext,
) -> None:
    outcome = await plain.run({"word": "w", "count": 2, "ratio": 0.5, "flag": True}, ctx)
    assert json.loads(outcome.content) == [
        ["str", "w"],
        ["int", 2],
        ["float", 0.5],
        ["bool", True],
        "call_1",
    ]
    received: list[Any] = []

    @tool
    def keep(word: str) -> str:
        """Keep it."""
        received.append(word)
        return "ok"

    word = "x" * 50
    await keep.run({"word": word, "ignored": 1}, ctx)
    assert received[0] is word  # the very object, as validation hands it back


async def test_values_of_another_type_are_converted_or_refused_as_validation_does(
    ctx: ToolContext,
) -> None:
    outcome = await plain.run({"word": Text("w"), "count": "7", "ratio": 2, "flag": 1}, ctx)
    assert json.loads(outcome.content) == [
        ["str", "w"],
        ["int", 7],
        ["float", 2.0],
        ["bool", True],
        "call_1",
    ]
    refused = await plain.run({"word": "w", "count": "many", "ratio": 1.0, "flag": False}, ctx)
    assert refused.is_error
    assert refused.content == (
        "Error: invalid arguments for plain: count: Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    missing = await plain.run({"word": "w", "ratio": 1.0, "flag": False}, ctx)
    assert missing.content == "Error: invalid arguments for plain: count: Field required"


async def test_left_out_values_take_their_defaults_and_constraints_still_hold(
    ctx: ToolContext,
) -> None:
    assert (await defaults.run({"word": "w"}, ctx)).content == '["w", 3, false]'
    assert (await defaults.run({"word": "w", "flag": True}, ctx)).content == '["w", 3, true]'
    assert (await bounded.run({"count": 2}, ctx)).content == "2"
    low = await bounded.run({"count": 0}, ctx)
    assert low.is_error and "greater than 0" in low.content


@pytest.mark.parametrize(
    "value", [{"x": 1, "ü": [1.5, None, True]}, [float("inf"), -0.0, 10**30], (1, "\u2028"), 7]
)
def test_plain_results_render_exactly_as_json_dumps_does(value: Any) -> None:
    assert serialize_result(value) == json.dumps(value, ensure_ascii=False)


# -- counting a step's new messages in place -----------------------------------------


def test_a_few_new_messages_are_counted_in_place_and_a_long_stretch_or_an_edit_is_not() -> None:
    counts = TokenCounts()
    messages: list[dict[str, Any]] = [{"role": "system", "content": "s" * 40}]
    for i in range(3):
        messages.append({"role": "user", "content": f"q{i} " * 9})
        messages.append({"role": "assistant", "content": f"a{i} " * 5})
        assert counts.count_now(messages) == sum(count_messages(messages).sizes)
        assert counts.counts() == count_messages(messages)
    before = (list(counts.counts().sizes), counts.total)
    longer = messages + [{"role": "user", "content": "w"}] * (TokenCounts.SLICE + 1)
    assert counts.count_now(longer) is None
    edited = [{"role": "system", "content": "other"}, *messages[1:]]
    assert counts.count_now(edited) is None
    # Nothing was counted by the refusals: the kept counts are as they were.
    assert counts.count_now(messages) == before[1]
    assert (counts.counts().sizes, counts.total) == before


async def test_count_takes_over_where_counting_in_place_declines() -> None:
    counts = TokenCounts()
    messages = [{"role": "user", "content": "w " * i} for i in range(TokenCounts.SLICE * 2 + 5)]
    assert counts.count_now(messages) is None
    assert await counts.count(messages) == count_messages(messages)
    assert counts.total == sum(count_messages(messages).sizes)
    messages.append({"role": "assistant", "content": "done"})
    assert counts.count_now(messages) == sum(count_messages(messages).sizes)
    assert counts.counts() == count_messages(messages)


# -- tags only where a record is made ----------------------------------------------------


async def test_requests_are_tagged_for_observers_and_made_alike_without_them(sim: Any) -> None:
    gateway = gateway_for(sim)
    _open.append(gateway)
    prompt = '[[call defaults {"word": "w"}]]'
    answer = await Agent(gateway=gateway, tools=[defaults]).send(prompt)
    assert '["w", 3, false]' in answer
    records: list[RequestRecord] = []
    gateway.add_observer(records.append)
    watched = Agent(gateway=gateway, tools=[defaults])
    assert await watched.send(prompt) == answer
    assert len(records) == 2 and all(r.outcome == "ok" for r in records)
    assert all(r.tags == {"agent": watched.id} for r in records)
