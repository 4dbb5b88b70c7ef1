"""Loading only the newest part of a long session that a token budget can hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from alltoken_agent import UserError
from alltoken_agent.store import Store


def size(message: Mapping[str, Any]) -> int:
    """One token per character of content, plus one per message: easy to reason about."""
    return 1 + len(message.get("content") or "")


def turn(i: int, *, tool: bool = False) -> list[dict[str, Any]]:
    if not tool:
        return [{"role": "user", "content": f"u{i:04}"}, {"role": "assistant", "content": "a"}]
    call = {"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    return [
        {"role": "user", "content": f"u{i:04}"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"c{i}", "content": "r"},
        {"role": "assistant", "content": "a"},
    ]


def seeded(store: Store, turns: int) -> str:
    record = store.sessions.create_session(name="long")
    messages = [m for i in range(turns) for m in turn(i, tool=i % 3 == 0)]
    store.sessions.append_messages(record.id, messages)
    return record.id


@pytest.mark.slow
def test_a_long_session_loads_only_its_newest_whole_turns_within_the_budget(store: Store) -> None:
    session_id = seeded(store, 3000)  # ~8,000 messages: more than several batches
    everything = store.sessions.load_messages(session_id)
    recent = store.sessions.load_recent_messages(session_id, budget=500, measure=size)
    assert recent == everything[-len(recent) :]  # the newest, in order, unchanged
    assert recent[0]["role"] == "user"  # whole turns: never starts mid-turn
    assert sum(size(m) for m in recent) <= 500
    # ... and as many whole turns as fit: the turn before would not have
    older = everything[: len(everything) - len(recent)]
    start = max(i for i, m in enumerate(older) if m["role"] == "user")
    assert sum(size(m) for m in older[start:] + recent) > 500
    for i, message in enumerate(recent):  # a tool call always comes with its result
        if message.get("tool_calls"):
            assert recent[i + 1]["role"] == "tool"


def test_a_session_that_fits_loads_whole_and_a_too_small_budget_loads_nothing(
    store: Store,
) -> None:
    session_id = seeded(store, 5)
    everything = store.sessions.load_messages(session_id)
    assert store.sessions.load_recent_messages(session_id, budget=10_000, measure=size) == (
        everything
    )
    # Not even the newest turn fits: it would be left out, so nothing is read for it.
    assert store.sessions.load_recent_messages(session_id, budget=3, measure=size) == []


def test_a_budget_load_of_an_unknown_session_is_a_user_error(store: Store) -> None:
    with pytest.raises(UserError, match="no session has the id"):
        store.sessions.load_recent_messages("ses_missing", budget=100, measure=size)
