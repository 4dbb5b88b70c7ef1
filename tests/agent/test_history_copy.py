"""An agent's ``history=`` is copied as ``copy.deepcopy`` would copy it, and never aliased.

``take_history`` is the other way in: messages nobody else holds, kept, not copied.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alltoken_agent import Agent
from alltoken_agent._content_parts import (
    adopted_messages,
    copied,
    owned_message,
    repair_message,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_a_json_value_is_copied_equal_to_deepcopy_and_shares_no_container(value: Any) -> None:
    made = copied(value)
    assert made == copy.deepcopy(value)

    def containers(v: Any) -> list[int]:
        if isinstance(v, dict):
            return [id(v), *(i for item in v.values() for i in containers(item))]
        if isinstance(v, list):
            return [id(v), *(i for item in v for i in containers(item))]
        return []

    assert not set(containers(made)) & set(containers(value))


def test_other_values_inside_are_deep_copied_as_before() -> None:
    odd = {"content": "hi", "extra": {Decimal("1"): [1, 2]}, "kept": (1, [2])}
    made = copied(odd)
    assert made == odd
    assert made["kept"][1] is not odd["kept"][1]


def test_changing_the_callers_history_afterwards_does_not_change_the_agents() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": "answer"},
    ]
    agent = Agent("m", history=history)
    history[0]["content"][0]["text"] = "changed"
    history[1]["content"] = "changed"
    kept = [m for m in agent.get_messages() if m["role"] != "system"]
    assert kept[0]["content"][0]["text"] == "first"
    assert kept[1]["content"] == "answer"


MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool"])},
    optional={
        "content": st.none()
        | st.text()
        | st.lists(
            st.sampled_from(
                [
                    {"type": "text", "text": "hi"},
                    {"type": "image_url", "image_url": "https://example.com/a.png"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}},
                    "a bare string",
                ]
            ),
            max_size=3,
        ),
        "name": st.text(max_size=5),
    },
)


@given(MESSAGE)
def test_a_history_message_is_owned_as_a_repaired_copy_in_one_pass(message: Any) -> None:
    before = copy.deepcopy(message)
    owned = owned_message(message)
    assert owned == repair_message(copied(message))
    assert message == before  # the caller's message is left as it was
    assert owned is not message
    if isinstance(message.get("content"), list):
        assert owned["content"] is not message["content"]


@given(st.lists(MESSAGE | st.just({"role": "system", "content": "old prompt"}), max_size=5))
def test_taken_messages_are_repaired_in_place_as_a_copy_would_be(messages: Any) -> None:
    wanted = [owned_message(m) for m in messages if m.get("role") != "system"]
    kept = adopted_messages(messages)
    assert kept == wanted
    assert all(any(m is given for given in messages) for m in kept)  # the same dicts


def test_an_agent_takes_a_history_over_without_a_copy_and_keeps_its_prompt() -> None:
    agent = Agent("m", instructions="Be brief.", history=[{"role": "user", "content": "gone"}])
    stored = [
        {"role": "system", "content": "a stored prompt"},
        {"role": "user", "content": ["old", {"text": "shape"}]},
        {"role": "assistant", "content": "answer"},
    ]
    agent.take_history(stored)
    assert agent.message_count == 3
    messages = agent.get_messages()
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1]["content"] == [
        {"type": "text", "text": "old"},
        {"type": "text", "text": "shape"},
    ]
    assert stored[1]["content"] == messages[1]["content"]  # repaired where it was
    stored[2]["content"] = "changed"  # taken, not copied: the caller gave it up
    assert agent.get_messages()[2]["content"] == "changed"
