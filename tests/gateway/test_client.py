"""The gateway client against the simulator over loopback HTTP."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent import (
    ContentDelta,
    CostComment,
    Gateway,
    ReasoningDelta,
    StreamFinish,
    ToolCallDelta,
    UsageChunk,
)
from tests.gateway.helpers import gateway_for, user

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look something up.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
    },
]


async def test_non_streaming_chat_returns_text_usage_and_request_id(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        result = await gateway.chat(user("hello there"), max_tokens=200)
    assert "simulated" in result.text.lower()
    assert result.finish_reason == "stop"
    assert result.model == "minimax-m2.7"
    assert result.usage is not None and result.usage.total_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.request_id and len(result.request_id) == 20
    assert sim.state.requests[-1].json["stream"] is False


async def test_stream_yields_deltas_then_usage_then_the_cost_comment(sim: Any) -> None:
    async with gateway_for(sim) as gateway, gateway.stream(user("hello there")) as stream:
        events = [event async for event in stream]
    kinds = [type(e) for e in events]
    assert kinds.count(ContentDelta) > 3
    # the finish chunk comes after every delta, usage after finish, cost last (after [DONE])
    assert kinds.index(StreamFinish) > max(i for i, k in enumerate(kinds) if k is ContentDelta)
    assert kinds.index(UsageChunk) > kinds.index(StreamFinish)
    assert kinds[-1] is CostComment
    result = stream.result
    assert result.text == "".join(e.text for e in events if isinstance(e, ContentDelta))
    assert result.usage is not None and result.cost is not None
    cost = result.cost
    assert cost.input_price is not None and cost.output_price is not None
    expected = (
        result.usage.prompt_tokens * cost.input_price
        + result.usage.completion_tokens * cost.output_price
    ) / 1000
    assert cost.amount == expected.quantize(Decimal("1E-10"))
    assert stream.request_id == sim.state.requests[-1].request_id
    body = sim.state.requests[-1].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_tokenhub_stream_has_no_cost_and_still_completes(th_sim: Any) -> None:
    async with gateway_for(th_sim, dialect="tokenhub") as gateway:
        result = await gateway.stream(user("hi"), model="deepseek-v3.2").collect()
    assert result.text and result.cost is None
    assert result.usage is not None and result.finish_reason == "stop"


async def test_every_request_field_and_extension_is_passed_through(sim: Any) -> None:
    fields: dict[str, Any] = {
        "temperature": 0.3,
        "max_tokens": 64,
        "enable_search": True,
        "thinking": True,
        "thinking_budget": 256,
        "tools": TOOLS,
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "stream_options": {"include_usage": False, "other": 1},
        "user": "u-1",
    }
    async with gateway_for(sim) as gateway:
        await gateway.stream(user("hi"), model="deepseek-v4-flash", **fields).collect()
    sent = sim.state.requests[-1].json
    for key, value in fields.items():
        if key != "stream_options":
            assert sent[key] == value, key
    # include_usage is always forced on; other stream options survive
    assert sent["stream_options"] == {"include_usage": True, "other": 1}


async def test_parallel_tool_call_fragments_are_assembled_by_index(sim: Any) -> None:
    prompt = '[[call lookup {"q": "alpha beta"}]] [[call noop ]] [[call lookup {"q":"z"}]]'
    async with gateway_for(sim) as gateway:
        stream = gateway.stream(user(prompt), tools=TOOLS)
        events = [e async for e in stream]
    calls = stream.result.tool_calls
    assert [c.name for c in calls] == ["lookup", "noop", "lookup"]
    assert calls[0].parsed_arguments() == {"q": "alpha beta"}
    assert calls[1].arguments == "{}"  # empty arguments count as {}
    assert calls[2].parsed_arguments() == {"q": "z"}
    assert len({c.id for c in calls}) == 3
    assert stream.result.finish_reason == "tool_calls"
    fragments = [e for e in events if isinstance(e, ToolCallDelta)]
    indexes = [f.index for f in fragments]
    assert indexes != sorted(indexes), "the simulator interleaves slots; the test needs that"


async def test_non_streaming_tool_calls_match_the_streamed_ones(sim: Any) -> None:
    prompt = '[[call lookup {"q": 1}]]'
    async with gateway_for(sim) as gateway:
        result = await gateway.chat(user(prompt), tools=TOOLS)
    assert [(c.name, c.parsed_arguments()) for c in result.tool_calls] == [("lookup", {"q": 1})]
    assert result.to_message()["tool_calls"][0]["function"]["name"] == "lookup"


async def test_reasoning_streams_separately_from_the_answer(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        stream = gateway.stream(user("think about it"), thinking=True)
        events = [e async for e in stream]
    reasoning = [e.text for e in events if isinstance(e, ReasoningDelta)]
    assert reasoning and stream.result.reasoning == "".join(reasoning)
    assert stream.result.reasoning not in stream.result.text
    first_content = next(i for i, e in enumerate(events) if isinstance(e, ContentDelta))
    assert all(not isinstance(e, ReasoningDelta) for e in events[first_content:])


@pytest.mark.slow
async def test_official_sdk_clients_are_configured_for_the_same_provider(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        client = gateway.async_openai_client()
        completion = await client.chat.completions.create(
            model="minimax-m2.7", messages=[{"role": "user", "content": "hi"}]
        )
        await client.close()
        sync_client = gateway.openai_client()
        again = sync_client.chat.completions.create(
            model="minimax-m2.7", messages=[{"role": "user", "content": "hi"}]
        )
        sync_client.close()
    assert "simulated" in (completion.choices[0].message.content or "").lower()
    assert again.choices[0].message.content == completion.choices[0].message.content
    assert all(r.has_auth for r in sim.state.requests)


async def test_offline_gateway_runs_its_own_simulator_and_stops_it() -> None:
    gateway = Gateway.offline("tokenhub")
    server = gateway.offline_simulator
    assert server is not None and server.dialect == "tokenhub"
    result = await gateway.chat(user("hi"))
    assert "simulated" in result.text.lower()
    assert result.model == "deepseek-v3.2"
    await gateway.aclose()
    assert gateway.offline_simulator is None


async def test_repr_and_missing_model_errors_are_clear(sim: Any) -> None:
    from alltoken_agent import ConfigError, Provider

    provider = Provider(name="bare", base_url=sim.base_url, api_key_env=None, dialect="openai")
    async with Gateway(provider, api_key="x-123456789") as gateway:
        assert "x-123456789" not in repr(gateway)
        with pytest.raises(ConfigError, match="no model chosen"):
            await gateway.chat(user("hi"))


def test_missing_key_is_a_config_error_naming_the_variable() -> None:
    from alltoken_agent import ConfigError

    with pytest.raises(ConfigError, match="ALLTOKEN_API_KEY") as caught:
        Gateway()
    assert "Gateway.offline()" in str(caught.value)  # the way to try it without a key


def test_json_of_results_is_serialisable() -> None:
    from alltoken_agent import Cost, Usage

    usage = Usage.from_wire(
        {
            "prompt_tokens": 3,
            "completion_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 1},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    )
    assert usage.to_dict() == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
        "reasoning_tokens": 2,
        "cached_tokens": 1,
    }
    cost = Cost.from_comment({"cost": "0.0000188000", "input_price": "0.0002000000"})
    assert cost is not None and cost.to_dict()["cost"] == "0.0000188000"
    json.dumps(cost.to_dict())
    assert Cost.from_comment({"cost": "n/a"}) is None
