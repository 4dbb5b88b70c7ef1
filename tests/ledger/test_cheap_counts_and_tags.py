"""The rough token count and request tags, made cheaper (issue 23) with the same answers.

The count tests exact ``dict``/``str`` types first and falls back to the ``Mapping``
checks; a ``request_tags`` manager entered again under the same outer tags reuses the
mapping it made. These tests pin that nothing a caller sees changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from alltoken_agent import request_tags
from alltoken_agent.gateway.records import current_tags
from alltoken_agent.ledger.tokens import message_token_count, rough_token_count


class Message(Mapping[str, Any]):
    """A read-only message that is a Mapping but no dict (as a caller may keep one)."""

    def __init__(self, **items: Any) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


CALL = {
    "id": "c1",
    "type": "function",
    "function": {"name": "f", "arguments": '{"x": ' + "9" * 40 + "}"},
}
PLAIN: list[dict[str, Any]] = [
    {"role": "system", "content": "s" * 37},
    {"role": "user", "content": [{"type": "text", "text": "t" * 50}, {"type": "image_url"}]},
    {"role": "assistant", "content": None, "tool_calls": [CALL, CALL]},
    {"role": "tool", "tool_call_id": "c1", "content": "r" * 13},
]


def _as_mappings(value: Any) -> Any:
    """``value`` with every dict inside it (and itself) as a ``Message`` or a read-only view."""
    if isinstance(value, dict):
        items = {k: _as_mappings(v) for k, v in value.items()}
        return Message(**items) if "role" in items else MappingProxyType(items)
    if isinstance(value, list):
        return [_as_mappings(item) for item in value]
    return value


def test_messages_that_are_mappings_but_not_dicts_count_as_the_same_dicts_do() -> None:
    other = _as_mappings(PLAIN)
    assert not any(isinstance(m, dict) for m in other)
    assert rough_token_count(other) == rough_token_count(PLAIN)
    assert [message_token_count(m) for m in other] == [message_token_count(m) for m in PLAIN]
    # The arithmetic itself: 4 per message, a quarter of the text and of each call's arguments.
    assert [message_token_count(m) for m in PLAIN] == [4 + 9, 4 + 12, 4 + 2 * 11, 4 + 3]


def test_the_count_is_the_sum_of_each_messages_count_and_skips_what_holds_no_text() -> None:
    odd: list[Any] = [
        {"role": "user", "content": 42},  # not text: counts as the framing only
        {"role": "assistant", "content": "", "tool_calls": ["broken", {"function": "nope"}]},
        {"role": "user", "content": ["part that is no mapping", {"text": None}]},
    ]
    assert rough_token_count(odd) == 12
    assert rough_token_count(PLAIN + odd) == sum(map(message_token_count, PLAIN + odd))
    assert rough_token_count([]) == 0


def test_one_manager_entered_again_under_other_outer_tags_merges_with_each() -> None:
    agent = request_tags(agent="a1")
    with agent:
        assert dict(current_tags()) == {"agent": "a1"}
    with request_tags(session="s1"), agent:
        assert dict(current_tags()) == {"session": "s1", "agent": "a1"}
    with request_tags(session="s2"), agent:
        assert dict(current_tags()) == {"session": "s2", "agent": "a1"}
    with agent:  # back to no outer tags: not the merge of the last block
        assert dict(current_tags()) == {"agent": "a1"}
    assert dict(current_tags()) == {}


def test_a_manager_whose_tags_are_in_force_already_sets_nothing() -> None:
    with request_tags(agent="a1", session=None):
        outer = current_tags()
        inner = request_tags(agent="a1")
        for _ in range(2):
            with inner:
                assert current_tags() is outer
        with request_tags(agent="a2"):
            assert dict(current_tags()) == {"agent": "a2"}
        assert current_tags() is outer


async def test_a_reused_manager_tags_each_task_with_its_own_outer_tags() -> None:
    # One at a time (a turn enters its manager around one request or tool step at a
    # time), but the tasks take turns, so each entry finds the other task's tags last.
    agent = request_tags(agent="a1")
    seen: list[tuple[str, dict[str, str]]] = []

    async def work(session: str) -> None:
        with request_tags(session=session):
            for _ in range(3):
                with agent:
                    seen.append((session, dict(current_tags())))
                assert dict(current_tags()) == {"session": session}
                await asyncio.sleep(0)

    await asyncio.gather(work("x"), work("y"))
    assert [s for s, _ in seen] == ["x", "y"] * 3
    assert all(tags == {"session": s, "agent": "a1"} for s, tags in seen)
