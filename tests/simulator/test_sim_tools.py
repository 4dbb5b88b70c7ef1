from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .helpers import assemble_tool_calls, chat, data_chunks, stream, tool

TIME = tool("get_current_time", {"type": "object", "properties": {"timezone": {"type": "string"}}})
CALC = tool("calculator", {"type": "object", "properties": {"expression": {"type": "string"}}})


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def tool_round(
    messages: list[dict[str, Any]], calls: dict[int, dict[str, Any]], results: list[str]
) -> list[dict[str, Any]]:
    """Append the assistant tool-call turn and one tool result per call."""
    ordered = [calls[i] for i in sorted(calls)]
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in ordered
        ],
    }
    replies = [
        {"role": "tool", "tool_call_id": c["id"], "content": result}
        for c, result in zip(ordered, results, strict=True)
    ]
    return [*messages, assistant, *replies]


def test_parallel_calls_are_fragmented_and_interleaved(client: httpx.Client) -> None:
    args_a = '{"city": "Tokyo", "units": ["c", "f"]}'
    args_b = '{"query": "weather [[nested]] text"}'
    text = f"Do both [[call get_weather {args_a}]] [[call search {args_b}]] [[call ping]]"
    chunks = data_chunks(stream(client, chat(messages=user(text), tools=[TIME])).text)
    calls = assemble_tool_calls(chunks)
    assert [calls[i]["name"] for i in range(3)] == ["get_weather", "search", "ping"]
    assert calls[0]["arguments"] == args_a
    assert calls[1]["arguments"] == args_b
    assert calls[2]["arguments"] == ""
    assert all(c["id"].startswith("call_") and c["type"] == "function" for c in calls.values())
    assert len({c["id"] for c in calls.values()}) == 3

    indexes = [
        c["choices"][0]["delta"]["tool_calls"][0]["index"]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    ]
    # interleaved: slot 1 appears before slot 0 is finished
    assert indexes.index(1) < max(i for i, slot in enumerate(indexes) if slot == 0)
    for slot in (0, 1):
        assert indexes.count(slot) - 1 >= 2, f"arguments of slot {slot} must be split"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_two_character_arguments_split_in_two(client: httpx.Client) -> None:
    chunks = data_chunks(stream(client, chat(messages=user("[[call f {}]]"), tools=[TIME])).text)
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    ]
    assert [f["function"].get("arguments") for f in fragments] == ["", "{", "}"]


def test_invalid_json_arguments_are_sent_verbatim(client: httpx.Client) -> None:
    raw = '{"expression": 2+2,,'
    body = client.post(
        "/chat/completions", json=chat(messages=user(f"[[call calculator {raw}]]"), tools=[CALC])
    ).json()
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "calculator", "arguments": raw}
    assert body["choices"][0]["message"]["content"] is None
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_then_rounds_and_final_reply(client: httpx.Client) -> None:
    script = (
        'Plan: [[call step_one {"n": 1}]] [[then]] '
        '[[call step_two {"n": 2}]] [[call step_three]] [[then]]'
    )
    messages = user(script)
    tools = [tool("step_one"), tool("step_two"), tool("step_three")]

    first = assemble_tool_calls(
        data_chunks(stream(client, chat(messages=messages, tools=tools)).text)
    )
    assert [first[i]["name"] for i in sorted(first)] == ["step_one"]
    messages = tool_round(messages, first, ["one done"])

    second = assemble_tool_calls(
        data_chunks(stream(client, chat(messages=messages, tools=tools)).text)
    )
    assert [second[i]["name"] for i in sorted(second)] == ["step_two", "step_three"]
    assert second[0]["arguments"] == '{"n": 2}'
    messages = tool_round(messages, second, ["two done", "three done"])

    final = client.post("/chat/completions", json=chat(messages=messages, tools=tools)).json()
    choice = final["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]
    text = choice["message"]["content"]
    assert "(simulated) step_two returned: two done." in text
    assert "(simulated) step_three returned: three done." in text
    assert "one done" not in text  # only the last round is quoted


def test_reply_directive_fixes_the_final_text(client: httpx.Client) -> None:
    messages = user('[[call lookup {"id": 7}]] [[reply {"answer": 42}]]')
    calls = assemble_tool_calls(
        data_chunks(stream(client, chat(messages=messages, tools=[tool("lookup")])).text)
    )
    messages = tool_round(messages, calls, ["found"])
    final = client.post(
        "/chat/completions", json=chat(messages=messages, tools=[tool("lookup")])
    ).json()
    assert final["choices"][0]["message"]["content"] == '{"answer": 42}'
    # without tools the reply directive still applies (structured-output tests)
    plain = client.post(
        "/chat/completions", json=chat(messages=user("[[reply not json {]]"))
    ).json()
    assert plain["choices"][0]["message"]["content"] == "not json {"


def test_directives_need_tools_and_tool_choice_not_none(client: httpx.Client) -> None:
    text = '[[call get_current_time {"timezone": "UTC"}]]'
    extras: list[dict[str, Any]] = [{}, {"tools": [TIME], "tool_choice": "none"}]
    for extra in extras:
        body = client.post("/chat/completions", json=chat(messages=user(text), **extra)).json()
        assert body["choices"][0]["finish_reason"] == "stop"
        assert "tool_calls" not in body["choices"][0]["message"]


def test_tool_name_need_not_be_offered(client: httpx.Client) -> None:
    body = client.post(
        "/chat/completions", json=chat(messages=user("[[call no_such_tool {}]]"), tools=[TIME])
    ).json()
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "no_such_tool"


@pytest.mark.parametrize(
    ("question", "zone"),
    [
        ("What time is it in Tokyo?", "Asia/Tokyo"),
        ("what TIME is it in new york right now", "America/New_York"),
        ("Tell me the time in Sydney.", "Australia/Sydney"),
        ("What time is it on Mars?", "UTC"),
    ],
)
def test_time_heuristic(client: httpx.Client, question: str, zone: str) -> None:
    body = client.post(
        "/chat/completions", json=chat(messages=user(question), tools=[CALC, TIME])
    ).json()
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_current_time"
    assert json.loads(call["function"]["arguments"]) == {"timezone": zone}


def test_time_heuristic_needs_the_word_time(client: httpx.Client) -> None:
    body = client.post(
        "/chat/completions", json=chat(messages=user("Sometimes Tokyo is nice"), tools=[TIME])
    ).json()
    assert "tool_calls" not in body["choices"][0]["message"]


@pytest.mark.parametrize(
    ("question", "expression"),
    [
        ("What is 12*(3+4)?", "12*(3+4)"),
        ("Please calculate 2 + 2", "2 + 2"),
        ("compute the square root of sixteen", "the square root of sixteen"),
    ],
)
def test_calc_heuristic(client: httpx.Client, question: str, expression: str) -> None:
    body = client.post(
        "/chat/completions", json=chat(messages=user(question), tools=[TIME, CALC])
    ).json()
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "calculator"
    assert json.loads(call["function"]["arguments"]) == {"expression": expression}


def test_tool_result_is_quoted_verbatim(client: httpx.Client) -> None:
    messages = user("What time is it in London?")
    calls = assemble_tool_calls(
        data_chunks(stream(client, chat(messages=messages, tools=[TIME])).text)
    )
    messages = tool_round(messages, calls, ["2026-05-12T10:00:00+01:00"])
    chunks = data_chunks(stream(client, chat(messages=messages, tools=[TIME])).text)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "(simulated) get_current_time returned: 2026-05-12T10:00:00+01:00."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_forced_tool_choice(client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 3}},
        "required": ["city", "days"],
    }
    named = {"type": "function", "function": {"name": "forecast"}}
    body = client.post(
        "/chat/completions",
        json=chat(
            messages=user("hello"), tools=[TIME, tool("forecast", schema)], tool_choice=named
        ),
    ).json()
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "forecast"
    assert json.loads(call["function"]["arguments"]) == {"city": "simulated", "days": 3}
    required = client.post(
        "/chat/completions", json=chat(messages=user("hello"), tools=[TIME], tool_choice="required")
    ).json()
    assert (
        required["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_current_time"
    )


def test_max_tokens_cuts_tool_arguments(client: httpx.Client) -> None:
    body = client.post(
        "/chat/completions",
        json=chat(messages=user('[[call f {"a": "long value here"}]]'), tools=[TIME], max_tokens=2),
    ).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["arguments"] == '{"a": "long '  # header + first of two pieces
    assert body["usage"]["completion_tokens"] == 2


def test_directives_are_read_from_every_user_message_since_the_last_assistant_turn(
    client: httpx.Client,
) -> None:
    # A runtime (OpenClaw does) may add a user message of its own after the person's.
    earlier = [
        {"role": "user", "content": "[[call ping]] long ago"},
        {"role": "assistant", "content": "done"},
    ]
    messages = [
        *earlier,
        {"role": "user", "content": 'Add. [[call get_weather {"city": "Oslo"}]]'},
        {"role": "user", "content": "(runtime context: the user's local time is 10:00)"},
    ]
    chunks = data_chunks(stream(client, chat(messages=messages, tools=[TIME])).text)
    calls = assemble_tool_calls(chunks)
    assert [call["name"] for call in calls.values()] == ["get_weather"]
    assert calls[0]["arguments"] == '{"city": "Oslo"}'
