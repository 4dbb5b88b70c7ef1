"""``send_sync()`` and ``create_agent(...)``, the skill's names, against the simulator."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel

import alltoken_agent
from alltoken_agent import Agent, UserError, calculate, create_agent
from alltoken_agent.agent import EVENT_NAMES, STREAM_EVENT_NAMES
from tests.gateway.helpers import gateway_for


class Sum(BaseModel):
    expression: str
    result: int


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    return [r.json for r in server.state.requests if r.path.endswith("/chat/completions")]


def record_all(agent: Agent[Any]) -> list[str]:
    seen: list[str] = []
    for name in EVENT_NAMES:
        agent.on(name, lambda *_, name=name: seen.append(name))
    return seen


def test_send_sync_runs_the_tool_loop_unstreamed_without_stream_events(sim: Any) -> None:
    agent = Agent(gateway=gateway_for(sim), tools=[calculate], thinking=True)
    seen = record_all(agent)
    try:
        text = agent.send_sync("What is 2+3?")
    finally:
        agent.close_sync()
    assert "5" in text and text == agent.get_messages()[-1]["content"]
    bodies = chat_bodies(sim)
    assert len(bodies) == 2 and not any(body.get("stream") for body in bodies)
    assert not set(seen) & STREAM_EVENT_NAMES  # reasoning came back, but no event for it
    assert agent.get_messages()[-1]["reasoning_content"]
    collapsed = [n for i, n in enumerate(seen) if i == 0 or seen[i - 1] != n]
    assert collapsed == [
        "message:user",
        "thinking:start",
        "usage",
        "tool:call",
        "tool:result",
        "usage",
        "message:assistant",
        "thinking:end",
    ]


def test_send_stream_false_keeps_its_replayed_stream_events(sim: Any) -> None:
    """The difference send_sync() makes: send(stream=False) still reports each reply."""
    agent = Agent(gateway=gateway_for(sim), tools=[calculate])
    seen = record_all(agent)
    try:
        agent.run_sync("What is 2+3?")  # streamed, for comparison
        streamed = set(seen)
        seen.clear()
        agent.send_sync("What is 1+1?")
    finally:
        agent.close_sync()
    assert {"stream:start", "stream:delta", "stream:end"} <= streamed
    assert not set(seen) & STREAM_EVENT_NAMES


def test_send_sync_returns_the_output_type(sim: Any) -> None:
    agent = Agent(gateway=gateway_for(sim), tools=[])
    try:
        answer = agent.send_sync("Sum it up", output_type=Sum)
    finally:
        agent.close_sync()
    assert isinstance(answer, Sum)
    assert chat_bodies(sim)[-1]["response_format"]["json_schema"]["name"] == "Sum"


async def test_send_sync_inside_an_event_loop_is_a_clear_error(sim: Any) -> None:
    agent = Agent(gateway=gateway_for(sim), tools=[])
    try:
        with pytest.raises(UserError, match=r"send_sync\(\) cannot run inside an event loop"):
            agent.send_sync("hi")
    finally:
        await agent.gateway.aclose()
    assert chat_bodies(sim) == []


def test_create_agent_takes_the_options_of_agent_and_returns_one(sim: Any) -> None:
    agent = create_agent(
        "deepseek-v4-flash",
        instructions="Be brief.",
        tools=[calculate],
        max_steps=3,
        gateway=gateway_for(sim),
    )
    try:
        assert isinstance(agent, Agent)
        assert agent.model == "deepseek-v4-flash" and agent.max_steps == 3
        assert "5" in agent.send_sync("What is 2+3?")
    finally:
        agent.close_sync()
    assert chat_bodies(sim)[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert inspect.signature(create_agent) == inspect.signature(Agent)
    assert create_agent.__name__ == "create_agent" and "skill" in (create_agent.__doc__ or "")
    assert alltoken_agent.create_agent is create_agent


def test_create_agent_checks_its_options_as_agent_does() -> None:
    with pytest.raises(UserError, match="max_steps"):
        create_agent("m", max_steps=0)
    with pytest.raises(TypeError, match="model"):
        create_agent("m", model="x")  # given twice, as Agent("m", model="x") would be
