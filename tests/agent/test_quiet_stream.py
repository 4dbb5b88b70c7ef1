"""A streamed request that nobody listens to (issue 23), told the same as one read closely.

When no delta reader, no reasoning listener and no open reasoning block wants a
network read's chunks, the turn does not look at them (the stream puts the reply
together); the common request is prepared without a coroutine, and the stream is
opened and closed without ``async with``. These tests pin that what the history,
the result and the hooks get is what a reader of every event gets.
"""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent.agent.context import TokenCounts
from alltoken_agent.errors import StreamInterruptedError
from alltoken_agent.ledger.tokens import message_token_count
from tests.agent.test_agent import agent_on, close_gateways  # noqa: F401

PROMPT = "What is 2+3?"
"""A tool round and an answer: two requests, each with a reasoning block when thinking."""


def replies(messages: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    """Each assistant message's text, reasoning and tool names (ids differ per run)."""
    return [
        (
            m.get("content"),
            m.get("reasoning_content"),
            [c["function"]["name"] for c in m.get("tool_calls", [])],
        )
        for m in messages
        if m["role"] == "assistant"
    ]


async def test_a_send_nobody_listens_to_keeps_what_a_reader_of_every_event_gets(
    sim: Any,
) -> None:
    quiet = agent_on(sim, thinking=True)
    answer = await quiet.send(PROMPT)
    loud = agent_on(sim, thinking=True)
    events = [event async for event in loud.stream(PROMPT)]

    assert answer and answer == next(e.text for e in events if e.name == "stream:end" and e.text)
    assert replies(quiet.get_messages()) == replies(loud.get_messages())
    kept = replies(quiet.get_messages())
    assert len(kept) == 2 and all(reasoning for _, reasoning, _ in kept)


async def test_a_reasoning_end_hook_alone_hears_each_blocks_whole_text(sim: Any) -> None:
    agent = agent_on(sim, thinking=True)
    blocks: list[str] = []
    agent.on("reasoning:end", lambda reasoning: blocks.append(reasoning))
    await agent.send(PROMPT)
    kept = [m["reasoning_content"] for m in agent.get_messages() if m["role"] == "assistant"]
    assert len(blocks) == 2 and blocks == kept


async def test_a_reasoning_start_hook_alone_hears_each_block_begin(sim: Any) -> None:
    agent = agent_on(sim, thinking=True)
    starts: list[str] = []
    agent.on("reasoning:start", lambda: starts.append("start"))
    await agent.send(PROMPT)
    assert starts == ["start", "start"]


async def test_a_reply_cut_off_in_a_quiet_send_raises_and_the_agent_goes_on(sim: Any) -> None:
    agent = agent_on(sim, tools=[])
    agent.gateway  # noqa: B018 - created before the fault is queued
    sim.state.enqueue_faults(["eof:2"])
    with pytest.raises(StreamInterruptedError):
        await agent.send("[[reply one two three four five]]")
    assert [m["role"] for m in agent.get_messages()] == ["system", "user"]
    # The cut stream was closed: the next request goes out and is read to its end.
    assert await agent.send("again")
    assert [m["role"] for m in agent.get_messages()][-2:] == ["user", "assistant"]


class Text(str):
    """A str subclass: counted the slow way, to the same answer."""


SHAPES: list[dict[str, Any]] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "x" * 37},
    {"role": "user", "content": [{"type": "text", "text": "abcdefgh"}, {"type": "image_url"}]},
    {"role": "assistant", "content": None},
    {"role": "assistant", "content": "", "tool_calls": []},
    {
        "role": "assistant",
        "content": "see",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}" * 9}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "y" * 13},
    {"role": "user", "content": Text("z" * 21)},
    {"role": "assistant"},
]


async def test_a_step_counts_each_message_as_message_token_count_does() -> None:
    counts = TokenCounts()
    history: list[dict[str, Any]] = []
    for message in SHAPES:  # a step's few new messages at a time, counted in place
        history.append(message)
        assert counts.count_now(history) is not None
    kept = counts.counts()
    assert kept.sizes == [message_token_count(m) for m in SHAPES]
    assert kept.users == [1, 2, 7] and counts.total == sum(kept.sizes)
