"""The hostile-gateway faults, read with plain httpx (what any client would receive)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator import FAULT_HEADER
from alltoken_agent.simulator.faults import FaultSpecError, parse_fault
from alltoken_agent.simulator.hostile import PING_INTERVAL, REDIRECT_TARGET

from .helpers import chat

STREAM = chat("gpt-5.4-nano", stream=True)
PLAIN = chat("gpt-5.4-nano")


def fault(spec: str) -> dict[str, str]:
    return {FAULT_HEADER: spec}


@pytest.mark.parametrize(
    ("spec", "kind", "field", "value"),
    [
        ("html200", "html200", None, None),
        ("JSON200", "json200", None, None),
        ("empty200", "empty200", None, None),
        ("redirect", "redirect", "value", None),
        ("redirect:https://Other.example/V1", "redirect", "value", "https://Other.example/V1"),
        ("ping_forever", "ping_forever", None, None),
        ("trickle:0.5", "trickle", "seconds", 0.5),
        ("long_line:200", "long_line", "size_mb", 200),
    ],
)
def test_the_hostile_specs_parse(spec: str, kind: str, field: str | None, value: Any) -> None:
    parsed = parse_fault(spec)
    assert parsed.kind == kind
    if field is not None:
        assert getattr(parsed, field) == value
    assert parsed.acts_on_body == (kind in ("ping_forever", "trickle", "long_line"))


@pytest.mark.parametrize(
    "spec",
    [
        "trickle:0",
        "trickle:x",
        "trickle:301",
        "long_line:0",
        "long_line:1025",
        "long_line:x",
        "redirect:",
        "redirect:http://a/\u00e9",
        "ping_forever:1",
    ],
)
def test_bad_hostile_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault(spec)


@pytest.mark.parametrize("body", [STREAM, PLAIN])
def test_html200_json200_empty200_answer_200_with_the_wrong_body(
    client: httpx.Client, body: dict[str, Any]
) -> None:
    html = client.post("/chat/completions", json=body, headers=fault("html200"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert b"<title>" in html.content
    answer = client.post("/chat/completions", json=body, headers=fault("json200"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json()["object"] == "chat.completion"
    empty = client.post("/chat/completions", json=body, headers=fault("empty200"))
    assert empty.status_code == 200 and empty.content == b""


def test_redirect_points_elsewhere(client: httpx.Client) -> None:
    bare = client.post("/chat/completions", json=STREAM, headers=fault("redirect"))
    assert bare.status_code == 307 and bare.headers["location"] == REDIRECT_TARGET
    there = client.post(
        "/chat/completions", json=PLAIN, headers=fault("redirect:https://Other.example/v1")
    )
    assert there.headers["location"] == "https://Other.example/v1"


def test_ping_forever_sends_only_comments(client: httpx.Client) -> None:
    lines: list[str] = []
    with client.stream(
        "POST", "/chat/completions", json=STREAM, headers=fault("ping_forever")
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            lines.append(line)
            if len(lines) >= 10:
                break
    assert PING_INTERVAL < 1
    assert [line for line in lines if line] == [": ping"] * 5


def test_trickle_sends_the_role_then_one_word_per_chunk(client: httpx.Client) -> None:
    chunks: list[dict[str, Any]] = []
    with client.stream(
        "POST", "/chat/completions", json=STREAM, headers=fault("trickle:0.01")
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                chunks.append(json.loads(line[6:]))
            if len(chunks) >= 4:
                break
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    words = [c["choices"][0]["delta"]["content"] for c in chunks[1:]]
    assert words == ["still ", "going ", "slowly "]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


def test_a_non_streaming_request_under_ping_forever_gets_spaces(client: httpx.Client) -> None:
    with client.stream("POST", "/chat/completions", json=PLAIN, headers=fault("ping_forever")) as r:
        assert r.status_code == 200
        received = b""
        for piece in r.iter_bytes():
            received += piece
            if len(received) >= 3:
                break
    assert received.strip() == b""


def test_long_line_sends_one_line_of_that_many_megabytes_then_the_normal_rest(
    client: httpx.Client,
) -> None:
    response = client.post("/chat/completions", json=STREAM, headers=fault("long_line:1"))
    lines = [line for line in response.text.split("\n") if line]
    longest = max(lines, key=len)
    content = json.loads(longest[6:])["choices"][0]["delta"]["content"]
    assert content == "a" * 1024 * 1024
    assert lines[-2] == "data: [DONE]" and lines[-1].startswith(": {")
