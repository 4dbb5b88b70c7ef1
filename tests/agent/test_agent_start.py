"""A cheap agent and turn start (issue 23): what is made once still follows the agent.

An agent's id is a per-process prefix and a counter, not random bytes per agent; a
turn's request options and prelude are kept from the last turn while nothing that
feeds them changed. These tests pin that the ids stay unique (also in a forked child)
and that every setting changed between turns still reaches the next request.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from alltoken_agent import Agent, tool
from alltoken_agent.errors import ContextLengthError
from tests.agent.test_agent import agent_on, close_gateways  # noqa: F401
from tests.agent.test_approval_and_context import long_history


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    return [r.json for r in server.state.requests if r.path.endswith("/chat/completions")]


@tool
def shout(text: str) -> str:
    """Say it louder."""
    return text.upper()


def test_agent_ids_are_unique_and_tagged() -> None:
    ids = [Agent().id for _ in range(500)]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("agent_") and len(i) > len("agent_") + 12 for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_makes_ids_its_parent_never_makes() -> None:
    before = Agent().id
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: three ids to the parent, then out without cleanup
        try:
            os.write(write, " ".join(Agent().id for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_ids = pipe.read().split()
    os.waitpid(pid, 0)
    parent_ids = [Agent().id for _ in range(3)]
    assert len(child_ids) == 3
    assert not set(child_ids) & set(parent_ids)
    # The child drew its own prefix: it does not count on from the parent's.
    prefix = before[: len("agent_") + 12]
    assert not any(i.startswith(prefix) for i in child_ids)
    assert all(i.startswith(prefix) for i in parent_ids)


async def test_knobs_changed_between_turns_reach_the_next_request(sim: Any) -> None:
    agent = agent_on(sim, tools=[])
    await agent.send("hello")
    first = chat_bodies(sim)[-1]
    assert first["temperature"] == 0.7 and "thinking" not in first
    agent.temperature = 0.2
    agent.thinking = True
    agent.thinking_budget = 64
    await agent.send("again")
    second = chat_bodies(sim)[-1]
    assert second["temperature"] == 0.2
    assert second["thinking"] is True and second["thinking_budget"] == 64
    agent.temperature = None
    agent.thinking = False
    await agent.send("and again")
    third = chat_bodies(sim)[-1]
    assert "temperature" not in third and "thinking" not in third


async def test_an_equal_value_of_another_type_is_sent_as_given(sim: Any) -> None:
    agent = agent_on(sim, tools=[], temperature=1.0)
    await agent.send("hello")
    agent.temperature = 1  # equal to 1.0, but another value on the wire
    await agent.send("again")
    assert [type(b["temperature"]) for b in chat_bodies(sim)] == [float, int]


async def test_settings_replaced_or_changed_in_place_reach_the_next_request(sim: Any) -> None:
    agent = agent_on(sim, tools=[], settings={"max_tokens": 40})
    await agent.send("hello")
    assert chat_bodies(sim)[-1]["max_tokens"] == 40
    agent.settings = {"max_tokens": 50}
    await agent.send("again")
    assert chat_bodies(sim)[-1]["max_tokens"] == 50
    agent.settings["max_tokens"] = 60
    await agent.send("and again")
    assert chat_bodies(sim)[-1]["max_tokens"] == 60
    agent.settings = {"max_tokens": 60}  # equal, but a new dict: later changes to it count
    await agent.send("once more")
    agent.settings["max_tokens"] = 70
    await agent.send("last")
    assert [b["max_tokens"] for b in chat_bodies(sim)[-2:]] == [60, 70]


async def test_a_tool_added_between_turns_is_offered_next_turn(sim: Any) -> None:
    agent = agent_on(sim, tools=[])
    await agent.send("hello")
    assert "tools" not in chat_bodies(sim)[-1]
    agent.add_tool(shout)
    await agent.send("again")
    names = [t["function"]["name"] for t in chat_bodies(sim)[-1]["tools"]]
    assert names == ["shout"]


async def test_search_turned_on_between_turns_offers_the_tool_or_flag(sim: Any) -> None:
    agent = agent_on(sim, tools=[], model="minimax-m2.7")
    await agent.send("hello")
    agent.enable_search = True
    await agent.send("again")
    body = chat_bodies(sim)[-1]
    # minimax ignores the flag (docs/wire-format.md §1.11): it gets the web_search tool.
    assert [t["function"]["name"] for t in body["tools"]] == ["web_search"]
    assert "enable_search" not in body


async def test_a_context_length_set_between_turns_is_honoured(sim: Any) -> None:
    agent = agent_on(sim, tools=[], history=long_history(12), context_policy="fail")
    await agent.send("hello")  # no length known: sent whole
    agent.context_length = 2500
    with pytest.raises(ContextLengthError, match="context of 2500"):
        await agent.send("again")
    assert len(chat_bodies(sim)) == 1


async def test_a_prelude_that_needs_no_wait_sets_what_the_awaited_one_sets(sim: Any) -> None:
    # Prelude.now() runs a turn's prelude without a coroutine when it needs no wait; it
    # leaves the turn as awaiting the prelude would, and declines an `auto:` chain.
    from alltoken_agent.agent.planning import Prelude

    agent = agent_on(sim, tools=[shout], model=["glm-5", "deepseek-v4-flash"], enable_search=True)

    def turn_settings() -> Any:
        run = agent._start("hi", stream=True, output_type=None, deltas=None)
        return run._turn.settings

    quick, awaited = turn_settings(), turn_settings()
    prelude = quick.prelude
    assert isinstance(prelude, Prelude)
    told = prelude.now(quick)
    assert told is not None
    assert [e.to_dict() for e in told] == [e.to_dict() for e in await prelude(awaited, "hi")]
    assert told and told[0].name == "notice"  # the search notice goes out on this path too
    for name in ("models", "context_limits", "context_lookup"):
        assert getattr(quick, name) == getattr(awaited, name)
    auto = turn_settings()
    auto.models = ["auto:cheapest"]
    assert prelude.now(auto) is None and auto.models == ["auto:cheapest"]


def test_no_request_settings_add_no_request_fields() -> None:
    from alltoken_agent.agent.settings import request_fields

    assert request_fields({}) == {}
    assert request_fields({"stop": ("a", "b"), "extra_body": {"k": 1}}) == {
        "stop": ["a", "b"],
        "k": 1,
    }


def test_whether_a_catalog_can_be_asked_follows_the_gateways_provider() -> None:
    # Kept between turns, but a provider swapped on the gateway is asked again.
    from dataclasses import replace

    from alltoken_agent.agent.planning import ContextLengths
    from alltoken_agent.gateway import Gateway, Provider

    provider = Provider(
        name="p", base_url="http://127.0.0.1:9/v1", api_key_env=None, dialect="alltoken"
    )
    gateway = Gateway(provider, api_key="k")
    lengths = ContextLengths(gateway, {}, None)
    assert lengths.has_catalog() and lengths.has_catalog()
    gateway.provider = replace(provider, dialect="openai")
    assert not lengths.has_catalog()
    gateway.provider = provider
    assert lengths.has_catalog()


def test_a_type_error_inside_the_agents_constructor_is_not_mistaken_for_a_bad_keyword() -> None:
    # The keywords are looked at only when the call failed; known ones let it through.
    with pytest.raises(TypeError, match="not iterable") as caught:
        Agent(tools=5)  # type: ignore[arg-type]
    assert "unexpected keyword" not in str(caught.value)
    with pytest.raises(TypeError, match="'temprature'; did you mean 'temperature'"):
        Agent(tools=[shout], temprature=0.2)  # type: ignore[call-arg]
