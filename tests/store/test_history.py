"""Loading only the newest part of a long session that a token budget can hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent import UserError
from alltoken_agent.store import Store
from alltoken_agent.store.history import FIRST_BATCH


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
@pytest.mark.parametrize("budget", [500, 20_000])
def test_a_long_session_loads_only_its_newest_whole_turns_within_the_budget(
    store: Store, budget: int
) -> None:
    session_id = seeded(store, 3000)  # ~8,000 messages: more than several batches
    everything = store.sessions.load_messages(session_id)
    asked: list[int] = []  # the LIMIT of each query: how many rows it may read

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if "FROM messages" in statement and "LIMIT" in statement:
            asked.append(parameters[-2])  # (session_id[, before], limit, offset)

    sa.event.listen(store._db.engine, "before_cursor_execute", note)
    try:
        recent = store.sessions.load_recent_messages(session_id, budget=budget, measure=size)
    finally:
        sa.event.remove(store._db.engine, "before_cursor_execute", note)
    assert_newest_whole_turns(recent, everything, budget)
    # Batches sized by what the budget left should hold: few rows read only to be left out.
    assert sum(asked) <= max(FIRST_BATCH, len(recent) * 1.25), (asked, len(recent))


def assert_newest_whole_turns(
    recent: list[dict[str, Any]], everything: list[dict[str, Any]], budget: int
) -> None:
    """``recent`` is the newest whole turns of ``everything`` that ``budget`` holds, all of them."""
    assert recent == everything[-len(recent) :]  # the newest, in order, unchanged
    assert sum(size(m) for m in recent) <= budget
    if len(recent) == len(everything):
        return
    assert recent[0]["role"] == "user"  # whole turns: never starts mid-turn
    # ... and as many whole turns as fit: the turn before would not have
    older = everything[: len(everything) - len(recent)]
    start = max(i for i, m in enumerate(older) if m["role"] == "user")
    assert sum(size(m) for m in older[start:] + recent) > budget
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
