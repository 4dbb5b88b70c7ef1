"""The agent reads a reply a network read at a time (``ChatStream.batches()``), issue 23.

Chunks that arrive together still become one event each, in order, with their hooks;
a read that breaks part-way still hands on the events before the break. The canned
server writes each reply in one write, so its chunks arrive in one read on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import Agent, Gateway, Provider, StreamInterruptedError, ToolContext, tool
from alltoken_agent.agent._turn_settings import TurnSettings
from tests.gateway.wire_server import canned_server, http_response, sse

EVENT_STREAM = {"Content-Type": "text/event-stream"}


def _delta(field: str, text: str) -> str:
    return 'data: {"choices":[{"index":0,"delta":{"' + field + '":"' + text + '"}}]}'


FINISH = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'
USAGE = 'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":4,"total_tokens":6}}'


def _gateway(url: str) -> Gateway:
    provider = Provider(
        name="canned", base_url=url, api_key_env=None, dialect="alltoken", default_model="m"
    )
    return Gateway(provider, api_key="sk-test-batched")


async def _stream(body: bytes, agent_hooks: dict[str, list[Any]] | None = None) -> list[Any]:
    events: list[Any] = []
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with _gateway(url) as gateway:
            agent = Agent(model="m", gateway=gateway)
            hooks = agent_hooks or {}
            if "stream:delta" in hooks:
                agent.on("stream:delta", lambda *args: hooks["stream:delta"].append(args))
            if "reasoning:delta" in hooks:
                agent.on("reasoning:delta", lambda *args: hooks["reasoning:delta"].append(args))
            async for event in agent.stream("hi"):
                events.append(event)
    return events


async def test_chunks_of_one_read_are_one_event_each_in_order_with_their_hooks() -> None:
    body = sse(
        _delta("reasoning_content", "think"),
        _delta("content", "a"),
        _delta("content", "b"),
        _delta("content", "c"),
        FINISH,
        USAGE,
        "data: [DONE]",
    )
    seen: dict[str, list[Any]] = {"stream:delta": [], "reasoning:delta": []}
    events = await _stream(body, seen)
    names = [event.name for event in events]
    start = names.index("stream:start")
    assert names[start : start + 7] == [
        "stream:start",
        "reasoning:start",
        "reasoning:delta",
        "reasoning:end",
        "stream:delta",
        "stream:delta",
        "stream:delta",
    ]
    deltas = [event for event in events if event.name == "stream:delta"]
    assert [(d.delta, d.accumulated) for d in deltas] == [("a", "a"), ("b", "ab"), ("c", "abc")]
    assert seen["stream:delta"] == [("a", "a"), ("b", "ab"), ("c", "abc")]
    assert seen["reasoning:delta"] == [("think", "think")]
    assert names[-1] == "thinking:end" and "message:assistant" in names


async def test_a_read_that_breaks_part_way_hands_on_its_deltas_before_the_error() -> None:
    body = sse(_delta("content", "kept"), _delta("content", " too"), "data: {not json")
    events: list[Any] = []
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with _gateway(url) as gateway:
            agent = Agent(model="m", gateway=gateway)
            with pytest.raises(StreamInterruptedError) as caught:
                async for event in agent.stream("hi"):
                    events.append(event)
    deltas = [event.delta for event in events if event.name == "stream:delta"]
    assert deltas == ["kept", " too"]
    assert caught.value.partial_text == "kept too"


async def test_a_single_tool_call_gets_the_context_its_constructor_would_build(sim: Any) -> None:
    got: list[ToolContext] = []

    @tool
    async def note(text: str, context: ToolContext) -> str:
        """Keep the call's context.

        Args:
            text: Anything.
            context: The call's context.
        """
        got.append(context)
        return text

    provider = Provider(
        name="sim", base_url=sim.base_url, api_key_env=None, dialect="alltoken", default_model="m"
    )
    async with Gateway(provider, api_key="sk-test-batched") as gateway:
        agent = Agent(model="minimax-m2.7", tools=[note], gateway=gateway)
        result = await agent.run('[[call note {"text": "x"}]]')
    assert len(got) == 1
    call_id = result.tool_calls[0].call_id
    assert got[0] == ToolContext(gateway=gateway, model="minimax-m2.7", call_id=call_id, step=1)
    assert (got[0].model, got[0].call_id, got[0].step) == ("minimax-m2.7", call_id, 1)
    assert result.tool_calls[0].result == "x" and not result.tool_calls[0].is_error


async def test_a_hook_added_during_a_turn_gets_the_rest_of_its_events() -> None:
    """Who listens is asked each time (only how it is asked is chosen once per turn)."""
    body = sse(_delta("content", "a"), _delta("content", "b"), FINISH, USAGE, "data: [DONE]")
    late: list[Any] = []
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with _gateway(url) as gateway:
            agent = Agent(model="m", gateway=gateway)
            agent.on("stream:start", lambda *args: agent.on("stream:end", late.append))
            await agent.send("hi")
    assert late == ["ab"]


def test_who_listens_is_asked_per_reader_kind() -> None:
    gateway: Any = None
    common: dict[str, Any] = {
        "gateway": gateway,
        "models": ["m"],
        "tools": {},
        "max_steps": 1,
        "stream": True,
        "families": None,
        "fields_for": dict,
        "tools_for": list,
    }
    streamed = TurnSettings(**common, readers="all")
    assert streamed.wants("stream:delta") and streamed.wants("usage")
    hooked = TurnSettings(**common, readers="hooks")
    assert not hooked.wants("usage")
    hooked.hooks.on("usage", lambda *args: None)
    assert hooked.wants("usage")  # a handler added later counts
    unstreamed = TurnSettings(**common, readers="unstreamed")
    unstreamed.hooks.on("stream:delta", lambda *args: None)
    unstreamed.hooks.on("usage", lambda *args: None)
    assert not unstreamed.wants("stream:delta") and unstreamed.wants("usage")
