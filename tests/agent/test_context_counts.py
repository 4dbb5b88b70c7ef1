"""Token counts kept per message between requests, and the per-chunk events (issue 23)."""

from __future__ import annotations

import asyncio
from typing import Any

from alltoken_agent.agent._model_requests import reasoning_delta, stream_delta
from alltoken_agent.agent.context import TokenCounts, count_messages, fit_messages
from alltoken_agent.agent.events import ReasoningDeltaEvent, StreamDeltaEvent
from tests.agent.test_agent import agent_on, chat_bodies, close_gateways  # noqa: F401


def history(turns: int, words: int = 20) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "be brief"}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"question {i}: " + "word " * words})
        messages.append({"role": "assistant", "content": f"answer {i}: " + "word " * words})
    return messages


async def test_counts_follow_a_growing_history_and_a_message_replaced_in_place() -> None:
    counts = TokenCounts()
    messages = history(3)
    assert await counts.count(messages) == count_messages(messages)
    messages.append({"role": "user", "content": "word " * 400})
    after = await counts.count(messages)
    assert after == count_messages(messages)
    assert after.users == [1, 3, 5, 7] and after.sizes[-1] == count_messages(messages[-1:]).sizes[0]
    # A message swapped for another (a new system prompt): counted again, not reused.
    messages[0] = {"role": "system", "content": "word " * 800}
    assert await counts.count(messages) == count_messages(messages)
    # A shorter history (cleared): only what it holds.
    assert await counts.count(messages[:2]) == count_messages(messages[:2])


async def test_the_kept_total_is_the_sum_of_the_counts_as_the_history_grows_and_changes() -> None:
    counts = TokenCounts()
    assert counts.total == 0
    messages = history(3)
    sizes = (await counts.count(messages)).sizes
    assert counts.total == sum(sizes) > 0
    messages.append({"role": "user", "content": "word " * 400})
    sizes = (await counts.count(messages)).sizes
    assert counts.total == sum(sizes)
    messages[0] = {"role": "system", "content": "a much longer system prompt " * 50}
    sizes = (await counts.count(messages)).sizes
    assert counts.total == sum(sizes)
    shorter = history(1)
    await counts.count(shorter)
    assert counts.total == sum(count_messages(shorter).sizes)


async def test_a_long_history_is_counted_in_slices_with_the_loop_let_go_between() -> None:
    messages = history(3 * TokenCounts.SLICE)  # 12,001 messages: six slices
    ticks = 0
    counting = True

    async def ticker() -> None:
        nonlocal ticks
        while counting:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    counted = await TokenCounts().count(messages)
    counting = False
    await task
    assert counted == count_messages(messages)
    # The other task ran between the slices instead of waiting for the whole count.
    assert ticks - before >= 5


def test_a_fit_from_kept_counts_is_the_fit_of_a_fresh_count() -> None:
    messages = [*history(400), {"role": "user", "content": "and now?"}]
    fields = {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
    counts = count_messages(messages)
    for limit in (3000, 9000, 20_000):
        kept = fit_messages(messages, fields, limit=limit, policy="trim", counts=counts)
        fresh = fit_messages(messages, fields, limit=limit, policy="trim")
        assert kept == fresh and kept.dropped > 0
        assert kept.messages[0]["role"] == "system" and kept.messages[1]["role"] == "user"


async def test_a_second_turn_is_trimmed_as_a_fresh_count_would_trim_it(sim: Any) -> None:
    agent = agent_on(sim, tools=[], history=history(60)[1:], context_length=2500)
    await agent.send("first")
    agent.set_instructions("word " * 50)  # the system prompt changes between turns
    await agent.send("second")
    sent = chat_bodies(sim)[-1]["messages"]
    whole = agent.get_messages()[:-1]  # the history as the second request saw it
    expected = fit_messages(whole, {"max_tokens": None}, limit=2500, policy="trim").messages
    assert sent == expected and sent[0]["content"] == "word " * 50


def test_the_quick_delta_events_are_the_dataclass_events() -> None:
    pieces = ["hel", "lo"]
    built = stream_delta("lo", pieces)
    pieces.append(" world")  # later chunks: not part of this event's text
    assert built == StreamDeltaEvent(delta="lo", accumulated="hello")
    assert built.name == "stream:delta" and built.args == ("lo", "hello")
    assert built.to_dict() == {"event": "stream:delta", "delta": "lo"}
    assert repr(built) == repr(StreamDeltaEvent(delta="lo", accumulated="hello"))
    assert reasoning_delta("a", ["b", "a"]) == ReasoningDeltaEvent(delta="a", accumulated="ba")


async def test_each_delta_accumulates_exactly_the_text_before_it(sim: Any) -> None:
    agent = agent_on(sim, tools=[], thinking=True)
    events = [e async for e in agent.stream("[[reply one two three four five]]")]
    deltas = [e for e in events if isinstance(e, StreamDeltaEvent)]
    assert [e.accumulated for e in deltas] == [
        "".join(e.delta for e in deltas[: i + 1]) for i in range(len(deltas))
    ]
    assert deltas[-1].accumulated == "one two three four five"
    thoughts = [e for e in events if isinstance(e, ReasoningDeltaEvent)]
    assert thoughts and thoughts[-1].accumulated == "".join(e.delta for e in thoughts)


async def test_a_delta_handler_added_mid_run_hears_the_rest_of_the_reply(sim: Any) -> None:
    agent = agent_on(sim, tools=[])
    heard: list[str] = []
    seen: list[str] = []
    async for event in agent.stream("[[reply one two three four five]]"):
        if isinstance(event, StreamDeltaEvent):
            seen.append(event.delta)
            if len(seen) == 2:
                agent.on("stream:delta", lambda delta, accumulated: heard.append(delta))
    assert "".join(seen) == "one two three four five"
    assert heard == seen[2:]


async def test_messages_from_a_start_and_the_count_without_a_copy(sim: Any) -> None:
    agent = agent_on(sim, tools=[], history=history(3)[1:], instructions="be brief")
    start = agent.message_count
    assert start == len(agent.get_messages()) == 7
    await agent.send("[[reply done]]")
    new = agent.get_messages(start)
    assert new == agent.get_messages()[start:] and [m["role"] for m in new] == [
        "user",
        "assistant",
    ]
    new[0]["content"] = "changed"  # a copy: the agent's own history is untouched
    assert agent.get_messages(start)[0]["content"] == "[[reply done]]"


async def test_a_provider_without_a_catalog_counts_no_tokens_for_the_lookup(
    th_sim: Any, sim: Any
) -> None:
    """Counting only decides whether to ask the catalog for a context length: with no
    catalog to ask (TokenHub) there is nothing to decide; with AllToken's there is."""
    from alltoken_agent import Agent
    from tests.gateway.helpers import gateway_for

    async with gateway_for(th_sim, dialect="tokenhub") as gateway:
        agent = Agent(gateway=gateway)
        assert await agent.send("hi")
        assert agent._token_counts.total == 0
    counted = agent_on(sim, tools=[])
    assert await counted.send("hi")
    assert counted._token_counts.total > 0


def test_count_now_counts_a_few_new_messages_as_a_fresh_count_does() -> None:
    # A step adds a few messages (counted in a plain loop), a long stretch in C passes:
    # either way the counts, user positions and total are those of a fresh count.
    counts = TokenCounts()
    messages = history(1)
    tool_step = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "word " * 30},
    ]
    for added in ([], tool_step, [{"role": "user", "content": "next " * 9}], history(20)[1:]):
        messages.extend(added)
        assert counts.count_now(messages) == counts.total == sum(count_messages(messages).sizes)
        assert counts.counts() == count_messages(messages)
    assert counts.counts().users == [1, 5, *range(6, len(messages), 2)]
    messages[2] = {"role": "assistant", "content": "edited in place"}
    assert counts.count_now(messages) is None  # counted again by count(), not reused


def test_a_message_replaced_by_an_equal_copy_keeps_the_counts_and_an_edit_does_not() -> None:
    counts = TokenCounts()
    messages = history(3)
    total = counts.count_now(messages)
    copied = [dict(m) for m in messages]  # a history rebuilt from copies: nothing to recount
    assert counts.count_now(copied) == total == sum(count_messages(copied).sizes)
    copied[3] = {**copied[3], "content": "much longer now " * 40}
    assert counts.count_now(copied) is None  # counted again, by count()


def test_user_positions_read_only_when_asked_are_those_of_a_fresh_count() -> None:
    # count_now counts the total alone; the roles of everything counted since the last
    # ask are read by counts(), however many requests came between.
    counts = TokenCounts()
    messages = history(2)
    for added in (history(3)[1:], [], [{"role": "tool", "content": "t"}], history(1)[1:]):
        messages.extend(added)
        assert counts.count_now(messages) is not None
    assert counts.counts() == count_messages(messages)
    messages.append({"role": "user", "content": "one more"})
    assert counts.count_now(messages) is not None
    assert counts.counts() == count_messages(messages)
    assert counts.counts().users[-1] == len(messages) - 1
