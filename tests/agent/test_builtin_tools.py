"""The built-in tools: their schemas, their outcomes, `--tools` parsing, and web search.

`web_search` runs against the simulator over loopback; what went out on the wire is read
from the simulator's request log.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alltoken_agent import Gateway, UserError
from alltoken_agent.agent import builtin_tools
from alltoken_agent.agent.builtin_tools import (
    BUILTIN_TOOLS,
    DEFAULT_TOOL_NAMES,
    SEARCH_MODEL,
    calculate,
    get_current_time,
    make_web_search,
    resolve_tool_names,
    web_search,
)
from alltoken_agent.agent.clock import describe_time
from alltoken_agent.agent.tools import ToolContext, ToolOutcome
from tests.gateway.helpers import gateway_for


@pytest.fixture
async def ctx() -> AsyncIterator[ToolContext]:
    # The clock and the calculator never use the gateway; it only has to exist.
    async with Gateway("openai", base_url="http://127.0.0.1:9/v1", api_key="sk-unused") as gw:
        yield ToolContext(gateway=gw, model="test-model", call_id="call_1", step=1)


def context_for(gateway: Gateway) -> ToolContext:
    return ToolContext(gateway=gateway, model="minimax-m2.7", call_id="call_9", step=2)


def test_builtin_registry_and_defaults() -> None:
    assert sorted(BUILTIN_TOOLS) == ["calculate", "get_current_time", "web_search"]
    assert DEFAULT_TOOL_NAMES == ("get_current_time", "calculate")
    assert all(name == tool.name for name, tool in BUILTIN_TOOLS.items())


def test_calculate_schema_uses_the_calculator_docstring() -> None:
    function = calculate.definition()["function"]
    assert function["description"].startswith(
        "Evaluate an arithmetic expression and return the result."
    )
    assert "Raises" not in function["description"]
    assert function["parameters"] == {
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "The arithmetic expression to evaluate, e.g. `(1250 * 1.2) / 7`.",
            }
        },
        "required": ["expression"],
    }


def test_get_current_time_schema_uses_the_clock_docstring() -> None:
    function = get_current_time.definition()["function"]
    assert function["description"] == "Get the current date and time in an IANA time zone."
    assert function["parameters"]["required"] == []
    timezone = function["parameters"]["properties"]["timezone"]
    assert timezone["default"] == "UTC"
    assert timezone["description"].startswith('An IANA time zone name such as "Asia/Tokyo"')


def test_web_search_schema_shows_only_the_query() -> None:
    function = web_search.definition()["function"]
    assert function["description"] == (
        "Search the web for current information and return a short answer with sources."
    )
    assert list(function["parameters"]["properties"]) == ["query"]
    assert function["parameters"]["required"] == ["query"]


async def test_calculate_outcome_is_the_expression_and_a_number(ctx: ToolContext) -> None:
    outcome = await calculate.run('{"expression": "(1250 * 1.2) / 7"}', ctx)
    assert not outcome.is_error
    assert json.loads(outcome.content) == {
        "expression": "(1250 * 1.2) / 7",
        "result": 214.2857142857143,
    }
    exact = await calculate.run('{"expression": "2^70"}', ctx)
    assert json.loads(exact.content)["result"] == 2**70
    beyond_float = await calculate.run('{"expression": "10^400"}', ctx)
    assert json.loads(beyond_float.content)["result"] == "1e+400"


async def test_division_by_zero_reaches_the_model_verbatim(ctx: ToolContext) -> None:
    outcome = await calculate.run('{"expression": "1/0"}', ctx)
    assert outcome == ToolOutcome(
        "Error: division by zero at position 2", True, {"expression": "1/0"}
    )


async def test_current_time_outcome_is_an_object_with_the_en_us_time(ctx: ToolContext) -> None:
    outcome = await get_current_time.run('{"timezone": "asia/tokyo"}', ctx)
    assert not outcome.is_error
    tokyo = json.loads(outcome.content)
    assert tokyo["timezone"] == "Asia/Tokyo"
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d\d:\d\d [AP]M", tokyo["time"])
    assert tokyo["iso"].endswith("+09:00")
    for arguments in ("", '{"timezone": ""}', '{"timezone": "  "}'):
        default = json.loads((await get_current_time.run(arguments, ctx)).content)
        assert default["timezone"] == "UTC"
        assert default["iso"].endswith("+00:00")


def test_en_us_time_matches_javascript_to_locale_string() -> None:
    zone = ZoneInfo("America/New_York")
    moment = datetime(2026, 12, 6, 21, 5, 46, tzinfo=timezone.utc)
    assert describe_time(moment, zone) == {
        "time": "12/6/2026, 4:05:46 PM",
        "timezone": "America/New_York",
        "iso": "2026-12-06T16:05:46-05:00",
        "weekday": "Sunday",
    }
    midnight = datetime(2026, 1, 2, 0, 7, 9, tzinfo=timezone.utc)
    assert describe_time(midnight, ZoneInfo("UTC"))["time"] == "1/2/2026, 12:07:09 AM"
    noon = datetime(2026, 1, 2, 12, 0, 0, tzinfo=timezone.utc)
    assert describe_time(noon, ZoneInfo("UTC"))["time"] == "1/2/2026, 12:00:00 PM"


async def test_bad_timezone_is_an_error_outcome_with_suggestions(ctx: ToolContext) -> None:
    outcome = await get_current_time.run('{"timezone": "Asia/Tokio"}', ctx)
    assert outcome.is_error
    assert outcome.content.startswith("Error: 'Asia/Tokio' is not an IANA time zone; did you mean")
    assert "'Asia/Tokyo'" in outcome.content
    assert "failed" not in outcome.content


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("default", ["get_current_time", "calculate"]),
        ("none", []),
        ("", []),
        ("web_search", ["web_search"]),
        (" calculate , Web_Search ", ["calculate", "web_search"]),
        ("default,web_search,calculate", ["get_current_time", "calculate", "web_search"]),
    ],
)
def test_resolve_tool_names(spec: str, names: list[str]) -> None:
    assert [tool.name for tool in resolve_tool_names(spec)] == names


def test_unknown_tool_name_lists_the_known_ones() -> None:
    with pytest.raises(UserError) as info:
        resolve_tool_names("calculate,browser")
    message = str(info.value)
    assert "'browser'" in message
    assert "calculate, get_current_time, web_search" in message


async def test_web_search_asks_the_search_model_with_search_enabled(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        outcome = await web_search.run('{"query": "current Bitcoin price"}', context_for(gateway))
    assert not outcome.is_error, outcome.content
    assert "[simulated web search]" in outcome.content
    assert "current Bitcoin price" in outcome.content
    body = sim.state.requests[-1].json
    assert body["model"] == SEARCH_MODEL == "qwen3.6-flash"
    assert body["enable_search"] is True
    assert body["max_tokens"] == 800
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == "current Bitcoin price"


async def test_search_model_is_settable(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    deepseek = make_web_search("deepseek-v3.2")
    async with gateway_for(sim) as gateway:
        await deepseek.run('{"query": "news"}', context_for(gateway))
        assert sim.state.requests[-1].json["model"] == "deepseek-v3.2"
        monkeypatch.setattr(builtin_tools, "SEARCH_MODEL", "qwen3.6-max-preview")
        await web_search.run('{"query": "news"}', context_for(gateway))
        assert sim.state.requests[-1].json["model"] == "qwen3.6-max-preview"
    assert deepseek.name == "web_search"


async def test_gateway_errors_become_error_outcomes(sim: Any) -> None:
    # OpenAI models answer enable_search with 503 all_providers_failed (docs/wire-format.md §1.11).
    gpt_search = make_web_search("gpt-5.4")
    async with gateway_for(sim) as gateway:
        outcome = await gpt_search.run('{"query": "news"}', context_for(gateway))
    assert outcome.is_error
    assert outcome.content.startswith("Error: tool web_search failed: UpstreamError: ")
    assert "503" in outcome.content


async def test_empty_query_asks_the_model_again_without_a_request(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        outcome = await web_search.run('{"query": "  "}', context_for(gateway))
    assert outcome.content == "Error: the search query is empty; say what to search for"
    assert sim.state.requests == []
