"""The run's busy pair (``thinking:start``/``thinking:end``) and the reasoning blocks.

Every run is one pair whatever happens (an answer, an error, a cancelled task, a
stream closed early), and each reasoning block of a reply is one
``reasoning:start``/``reasoning:end`` pair. Against the simulator over loopback HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alltoken_agent import Agent, AuthenticationError
from alltoken_agent.agent import EVENT_NAMES
from tests.agent.test_agent import agent_on, close_gateways  # noqa: F401


def record_all(agent: Agent) -> list[tuple[str, tuple[Any, ...]]]:
    """Every event the hooks receive, with its payload, in order."""
    seen: list[tuple[str, tuple[Any, ...]]] = []
    for name in EVENT_NAMES:
        agent.on(name, lambda *payload, name=name: seen.append((name, payload)))
    return seen


def names_of(seen: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [name for name, _ in seen]


def collapsed(names: list[str]) -> list[str]:
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


@pytest.mark.parametrize("stream", [True, False])
async def test_a_plain_send_is_one_pair_around_every_other_event(sim: Any, stream: bool) -> None:
    agent = agent_on(sim, tools=[])
    seen = record_all(agent)
    await agent.send("hello there", stream=stream)
    names = names_of(seen)
    expected = [
        "message:user",
        "thinking:start",
        "stream:start",
        "stream:delta",
        "stream:end",
        "usage",
        "cost",
        "message:assistant",
        "thinking:end",
    ]
    # AllToken reports cost in a comment after a stream only.
    assert collapsed(names) == [n for n in expected if stream or n != "cost"]
    assert seen[1] == ("thinking:start", ())
    assert seen[-1] == ("thinking:end", ("done",))


async def test_the_stream_view_has_the_same_pair(sim: Any) -> None:
    agent = agent_on(sim)
    events = [event async for event in agent.stream("What is 2+3?")]
    assert [e.name for e in events][:2] == ["message:user", "thinking:start"]
    assert events[-1].name == "thinking:end" and events[-1].to_dict() == {
        "event": "thinking:end",
        "outcome": "done",
    }
    assert [e.name for e in events].count("thinking:end") == 1


async def test_a_thinking_send_has_one_run_pair_and_a_reasoning_pair_per_block(
    sim: Any,
) -> None:
    agent = agent_on(sim, thinking=True)
    seen = record_all(agent)
    await agent.send("What is 2+3?")  # two requests: a tool call, then the answer
    names = names_of(seen)
    assert names.count("thinking:start") == names.count("thinking:end") == 1
    assert names.count("reasoning:start") == names.count("reasoning:end") == 2
    assert names[1] == "thinking:start" and names[-1] == "thinking:end"
    starts = [i for i, n in enumerate(names) if n == "reasoning:start"]
    ends = [i for i, n in enumerate(names) if n == "reasoning:end"]
    for start, end in zip(starts, ends, strict=True):
        # Only the block's deltas between its start and its end.
        assert set(names[start + 1 : end]) == {"reasoning:delta"}
        deltas = "".join(payload[0] for _, payload in seen[start + 1 : end])
        assert seen[end][1] == (deltas,)


@pytest.mark.parametrize("via_stream", [False, True])
async def test_an_error_ends_the_pair_after_the_error_event(sim: Any, via_stream: bool) -> None:
    agent = agent_on(sim)
    seen = record_all(agent)
    agent.gateway  # noqa: B018 - created before the fault is queued
    sim.state.enqueue_faults(["401"])
    read: list[str] = []
    with pytest.raises(AuthenticationError) as caught:
        if via_stream:
            async for event in agent.stream("hello there"):
                read.append(event.name)
        else:
            await agent.send("hello there")
    names = names_of(seen)
    assert names[:2] == ["message:user", "thinking:start"]
    assert names[-2:] == ["error", "thinking:end"]
    assert seen[-2][1][0] is caught.value
    assert seen[-1] == ("thinking:end", ("error",))
    assert names.count("thinking:end") == 1
    if via_stream:
        # The reader sees the end of the run, then the error.
        assert read[-1] == "thinking:end" and read.count("thinking:end") == 1


async def test_a_request_failing_mid_reasoning_closes_the_block(sim: Any) -> None:
    agent = agent_on(sim, thinking=True, tools=[])
    seen = record_all(agent)
    agent.gateway  # noqa: B018 - created before the fault is queued
    sim.state.enqueue_faults(["error_chunk:3"])
    with pytest.raises(Exception):  # noqa: B017 - which error is the gateway tests' business
        await agent.send("hello there")
    names = names_of(seen)
    assert "reasoning:delta" in names and "stream:delta" not in names
    assert names.count("reasoning:start") == names.count("reasoning:end") == 1
    assert names.index("reasoning:end") < names.index("error")
    assert names[-1] == "thinking:end"


async def test_a_cancelled_stream_still_ends_the_pair(sim: Any) -> None:
    agent = agent_on(sim, thinking=True, tools=[])
    ends: list[str] = []
    agent.on("thinking:end", lambda outcome: ends.append(outcome))
    agent.gateway  # noqa: B018 - created before the fault is queued
    sim.state.enqueue_faults(["stall:4:5"])
    reading = asyncio.Event()
    read: list[str] = []

    async def reader() -> None:
        async for event in agent.stream("hello there"):
            read.append(event.name)
            if event.name == "reasoning:delta":
                reading.set()

    task = asyncio.create_task(reader())
    await asyncio.wait_for(reading.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ends == ["cancelled"]
    assert "thinking:start" in read and "thinking:end" not in read  # the reader was cancelled
    # The next run is a pair of its own.
    await agent.send("again")
    assert ends == ["cancelled", "done"]


async def test_a_reader_that_stops_early_still_ends_the_pair_for_hooks(sim: Any) -> None:
    agent = agent_on(sim)
    ends: list[str] = []
    agent.on("thinking:end", lambda outcome: ends.append(outcome))
    events = agent.stream("What is 2+3?").__aiter__()
    async for event in events:
        if event.name == "tool:call":
            break
    assert ends == []
    await events.aclose()  # type: ignore[attr-defined]
    assert ends == ["cancelled"]


async def test_raising_handlers_do_not_break_the_pair(sim: Any) -> None:
    agent = agent_on(sim)
    errors: list[tuple[str, str]] = []
    ends: list[str] = []

    def broken(*_: Any) -> None:
        raise RuntimeError("busy indicator bug")

    agent.on("thinking:start", broken)
    agent.on("thinking:end", broken)
    agent.on("thinking:end", lambda outcome: ends.append(outcome))
    agent.on("error", lambda error, source: errors.append((str(error), source)))
    text = await agent.send("What is 2+3?")
    assert "5" in text
    assert ends == ["done"]
    assert errors == [("busy indicator bug", "hook")] * 2


async def test_an_empty_message_fires_nothing(sim: Any) -> None:
    agent = agent_on(sim)
    seen = record_all(agent)
    with pytest.raises(Exception, match="empty"):
        await agent.send("   ")
    assert seen == []
