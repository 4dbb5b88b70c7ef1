"""The message sequences Hermes agent and OpenClaw send, replayed against the simulator.

Recorded from the real runtimes configured with `provider-config` snippets (see
scripts/check-runtimes, which runs them): the shapes are kept, the long system prompts
and context texts are cut. These pin that a tool round trip scripted with `[[call ...]]`
closes for each runtime: the call is made once, and the answer reads its result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.gateway.helpers import TEST_KEY

READ = {
    "type": "function",
    "function": {
        "name": "read",
        "description": "Read a file.",
        "parameters": {
            "type": "object",
            "required": ["path"],
            "properties": {"path": {"type": "string"}},
        },
    },
}
CALL = {
    "id": "call_e9a1399c705c752138c44463",
    "type": "function",
    "function": {"name": "read", "arguments": '{"path": "/tmp/note.txt"}'},
}
SYSTEM = {"role": "system", "content": "You are a personal assistant running inside OpenClaw."}
PERSON = {
    "role": "user",
    "content": '[Sun 2026-12-06 09:48 UTC] Read the note. [[call read {"path": "/tmp/note.txt"}]]'
    "\n\nRuntime: agent=main | session=agent:main:main",
}
# OpenClaw's own context goes as a second user message with list content, after the
# person's on the first request and after the tool results on the next.
CONTEXT = {
    "role": "user",
    "content": [{"type": "text", "text": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nnone"}],
}
RESULT = {"role": "tool", "tool_call_id": CALL["id"], "content": "the magic word is pelican-42\n"}


@pytest.fixture
def client(sim: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=30) as http:
        yield http


def answer(client: httpx.Client, messages: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"model": "minimax-m2.7", "messages": messages, "tools": [READ], "stream": False}
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def test_openclaw_tool_round_trip_closes_with_its_context_after_the_result(
    client: httpx.Client,
) -> None:
    first = answer(client, [SYSTEM, PERSON, CONTEXT])
    [call] = first["tool_calls"]
    assert call["function"] == CALL["function"]  # the directive's arguments, verbatim

    after = answer(client, [SYSTEM, PERSON, {**first, "tool_calls": [CALL]}, RESULT, CONTEXT])
    assert not after.get("tool_calls")  # the round is done: no second call, no loop
    assert after["content"] == "(simulated) read returned: the magic word is pelican-42\n."


def test_hermes_tool_round_trip_closes(client: httpx.Client) -> None:
    person = {"role": "user", "content": 'Read the note. [[call read {"path": "/tmp/note.txt"}]]'}
    first = answer(client, [{"role": "system", "content": "You are Hermes Agent."}, person])
    assert first["tool_calls"][0]["function"]["name"] == "read"
    assistant = {"role": "assistant", "content": "", "tool_calls": [CALL]}
    after = answer(client, [person, assistant, RESULT])
    assert after["content"].startswith("(simulated) read returned: the magic word")


def test_an_earlier_turns_directives_are_not_replayed_after_its_final_answer(
    client: httpx.Client,
) -> None:
    earlier = [PERSON, {"role": "assistant", "content": None, "tool_calls": [CALL]}, RESULT]
    final = {"role": "assistant", "content": "(simulated) read returned: ..."}
    now = {"role": "user", "content": "[Sun 2026-12-06 09:50 UTC] thanks"}
    reply = answer(client, [SYSTEM, *earlier, final, now, CONTEXT])
    assert not reply.get("tool_calls")
    assert reply["content"].startswith("[simulated minimax-m2.7] You said: [Sun 2026-12-06")
    assert "thanks" in reply["content"]
