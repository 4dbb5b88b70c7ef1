"""The tool-call path kept cheap (issue 23) without changing what it does.

Each tool call's arguments are read once and handed to the tool; the request's schema
count comes from each tool's kept JSON length; results are rendered by one shared
encoder; a tool's call layout is worked out when it is made. These tests pin that the
answers are the same as the slow way's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from alltoken_agent import Agent, Gateway, UserError, tool
from alltoken_agent.agent.context import schema_tokens
from alltoken_agent.agent.tool_messages import serialize_result
from alltoken_agent.agent.tool_step import parse_calls
from alltoken_agent.agent.tools import Tool, ToolContext
from alltoken_agent.gateway.types import ToolCall
from tests.gateway.helpers import closes_gateways, gateway_for


@tool
def echo(x: int) -> dict[str, int]:
    """Return the argument.

    Args:
        x: Any integer, "quoted" and ünïcode in the description.
    """
    return {"x": x}


@tool
def shaped(a: str, b: list[int] | None = None) -> str:
    """Join them.

    Args:
        a: Text.
        b: Numbers.
    """
    return a + str(b)


_open: list[Gateway] = []
close_gateways = closes_gateways(_open)


def agent_on(server: Any, **kwargs: Any) -> Agent:
    gateway = gateway_for(server)
    _open.append(gateway)
    return Agent(gateway=gateway, **kwargs)


@pytest.fixture
async def ctx() -> AsyncIterator[ToolContext]:
    async with Gateway("openai", base_url="http://127.0.0.1:9/v1", api_key="sk-unused") as gw:
        yield ToolContext(gateway=gw, model="m", call_id="call_1", step=1)


# -- schema size ----------------------------------------------------------------


@pytest.mark.parametrize("tools", [[echo], [echo, shaped], [shaped, echo, shaped]])
def test_kept_lengths_give_exactly_the_schema_count_of_the_serialised_list(
    tools: list[Tool],
) -> None:
    for item in tools:
        assert item.wire_length() == len(json.dumps(item.wire_definition()))
    total = sum(t.wire_length() for t in tools) + 2 * len(tools)
    assert total == len(json.dumps([t.wire_definition() for t in tools]))
    assert total // 4 == schema_tokens({"tools": [t.wire_definition() for t in tools]})


# -- results --------------------------------------------------------------------


@dataclasses.dataclass
class Reading:
    sensor: str
    values: list[float]


class Point(BaseModel):
    x: int


def _slow_way(value: Any) -> str:
    def default(item: Any) -> Any:
        if isinstance(item, BaseModel):
            return item.model_dump(mode="json")
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.asdict(item)
        if isinstance(item, (set, frozenset)):
            return list(item)
        return str(item)

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=default, ensure_ascii=False)


@pytest.mark.parametrize(
    "value",
    [
        {"x": 1, "ü": "ö"},
        [Reading("t", [1.5]), Point(x=2), {3}],
        (1, None, True),
        Reading("é", []),
        None,
        2.5,
        {"nested": {"when": object}},
    ],
)
def test_results_render_as_json_dumps_with_the_same_options_did(value: Any) -> None:
    assert serialize_result(value) == _slow_way(value)


def test_a_result_that_contains_itself_is_still_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        serialize_result(loop)


# -- binding ---------------------------------------------------------------------


async def test_positional_only_keyword_and_context_parameters_bind_in_order(
    ctx: ToolContext,
) -> None:
    seen: list[Any] = []

    @tool
    def mixed(a: int, /, c: ToolContext, b: str = "z") -> str:
        """Record how it was called."""
        seen.append((a, c.call_id, b))
        return "ok"

    assert list(mixed.parameters["properties"]) == ["a", "b"]
    outcome = await mixed.run('{"a": 1, "b": "y"}', ctx)
    assert (outcome.is_error, outcome.content) == (False, "ok")
    outcome = await mixed.run({"a": 2}, ctx)
    assert not outcome.is_error
    assert seen == [(1, "call_1", "y"), (2, "call_1", "z")]


# -- arguments read once ------------------------------------------------------------


def test_calls_are_read_once_or_reported_broken() -> None:
    calls = [
        ToolCall(id="a", name="echo", arguments='{"x": 1}'),
        ToolCall(id="b", name="echo", arguments="[1]"),
        ToolCall(id="c", name="echo", arguments='"text"'),
    ]
    assert parse_calls(calls) == [{"x": 1}, [1], "text"]
    assert parse_calls([*calls, ToolCall(id="d", name="echo", arguments="{no")]) is None
    assert parse_calls([ToolCall(id="e", name="", arguments="{}")]) is None
    assert parse_calls([ToolCall(id="f", name="echo", arguments="")]) is None


async def test_json_that_is_not_an_object_still_gets_the_tools_own_message(sim: Any) -> None:
    agent = agent_on(sim, tools=[echo])
    result = await agent.run('[[call echo [1]]] [[call echo {"x": 4}]]')
    bad, good = result.tool_calls
    assert bad.is_error and bad.arguments == "[1]"
    assert "must be a JSON object, not an array" in bad.result
    assert not good.is_error and good.arguments == {"x": 4} and good.result == '{"x": 4}'


async def test_hooks_see_arguments_of_their_own_that_the_tool_never_shares(sim: Any) -> None:
    agent = agent_on(sim, tools=[echo])
    announced: list[Any] = []

    def meddle(name: str, arguments: Any, call_id: str) -> None:
        announced.append(arguments)
        arguments["x"] = 99  # a hook that edits what it was shown changes nothing

    agent.on("tool:call", meddle)
    result = await agent.run('[[call echo {"x": 5}]]')
    assert announced == [{"x": 99}]
    assert result.tool_calls[0].arguments == {"x": 5}
    assert result.tool_calls[0].result == '{"x": 5}'


def test_a_second_tool_of_the_same_name_is_refused_with_the_usual_message() -> None:
    with pytest.raises(UserError, match=r"duplicate tool names: 'echo' \(2 tools\); pass name="):
        Agent(tools=[echo, Tool(shaped.function, name="echo")], gateway=None)


async def test_arguments_spelling_a_lone_surrogate_reach_the_tool_as_safe_text(sim: Any) -> None:
    # The arguments are JSON inside the reply's JSON: their own escapes are decoded by
    # the agent, with the same rule as the reply's (a lone surrogate becomes U+FFFD).
    agent = agent_on(sim, tools=[shaped])
    result = await agent.run(r'[[call shaped {"a": "bad \ud800 pair \ud83d\ude00"}]]')
    (call,) = result.tool_calls
    assert not call.is_error
    assert call.arguments == {"a": "bad \ufffd pair \U0001f600"}
    assert "bad \ufffd pair \U0001f600" in call.result
    call.result.encode("utf-8")  # no lone surrogate left to break a writer
    for message in result.messages:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
