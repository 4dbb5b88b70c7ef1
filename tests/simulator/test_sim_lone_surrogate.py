"""The `lone_surrogate` fault, read with plain httpx: the escapes are on the wire as sent."""

from __future__ import annotations

import json

import httpx
import pytest

from alltoken_agent.simulator import FAULT_HEADER
from alltoken_agent.simulator.faults import parse_fault

from .helpers import chat, data_chunks, stream

WIRE = rb"lone high \ud800, lone low \uDC00, pair \ud83d\ude00."
DECODED = "lone high \ud800, lone low \udc00, pair \U0001f600."
"""What `json.loads` makes of it: two lone surrogates and one emoji."""

HEADERS = {FAULT_HEADER: "lone_surrogate"}


def test_the_spec_parses() -> None:
    assert parse_fault(" Lone_Surrogate ").kind == "lone_surrogate"


def test_a_stream_ends_its_text_with_the_escapes(client: httpx.Client) -> None:
    response = stream(client, chat(), headers=HEADERS)
    assert WIRE in response.content
    text = "".join(
        choice["delta"].get("content") or ""
        for chunk in data_chunks(response.text)
        for choice in chunk["choices"]
    )
    assert text.endswith(" " + DECODED)
    with pytest.raises(UnicodeEncodeError):
        text.encode()
    assert response.text.rstrip().endswith("}")  # the cost comment: the stream ends normally


def test_a_whole_reply_ends_its_text_with_the_escapes(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat(), headers=HEADERS)
    assert response.status_code == 200
    assert WIRE in response.content
    content = json.loads(response.content)["choices"][0]["message"]["content"]
    assert content.endswith(" " + DECODED)


def test_tokenhub_streams_it_too(th_client: httpx.Client) -> None:
    response = stream(th_client, chat("glm-5"), headers=HEADERS)
    assert WIRE in response.content


def test_without_the_fault_no_surrogate_is_sent(client: httpx.Client) -> None:
    response = stream(client, chat())
    assert b"\\ud8" not in response.content and b"@@sim" not in response.content
