"""A gateway's JSON that spells a lone surrogate (``"\\ud800"``) arrives as U+FFFD.

Such text is valid JSON syntax but no UTF-8 encoder takes what it decodes to, so it
would break every writer downstream (the server's SSE, ``--json``, the store). The
gateway layer replaces it where the JSON is parsed; a valid pair stays one character.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from alltoken_agent import ContentDelta, Gateway, Provider, StreamInterruptedError
from alltoken_agent.gateway._payload import loads, loads_bytes
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.gateway.wire_server import canned_server, http_response, sse

FAULT = {"X-Sim-Fault": "lone_surrogate"}
CLEAN = "lone high \ufffd, lone low \ufffd, pair \U0001f600."
"""What the simulator's `lone_surrogate` text reads as once made safe."""

JSON = {"Content-Type": "application/json"}
SSE = {"Content-Type": "text/event-stream"}


def gateway_at(base_url: str) -> Gateway:
    provider = Provider(name="canned", base_url=base_url, api_key_env=None, dialect="openai")
    return Gateway(provider, api_key=TEST_KEY, model="m")


def utf8(text: str) -> str:
    text.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate
    return text


@pytest.mark.parametrize("dialect", ["alltoken", "tokenhub"])
async def test_a_streamed_lone_surrogate_arrives_as_a_replacement_character(
    sim: Any, th_sim: Any, dialect: str
) -> None:
    server = sim if dialect == "alltoken" else th_sim
    model = "minimax-m2.7" if dialect == "alltoken" else "glm-5"
    async with gateway_for(server, dialect=dialect) as gateway:
        stream = gateway.stream(user("hi"), model=model, extra_headers=FAULT)
        pieces = [utf8(e.text) async for e in stream if isinstance(e, ContentDelta)]
    assert "".join(pieces) == stream.result.text
    assert utf8(stream.result.text).endswith(" " + CLEAN)
    assert stream.result.finish_reason == "stop"


async def test_a_whole_reply_with_a_lone_surrogate_arrives_as_a_replacement_character(
    sim: Any,
) -> None:
    async with gateway_for(sim) as gateway:
        result = await gateway.chat(user("hi"), extra_headers=FAULT)
    assert utf8(result.text).endswith(" " + CLEAN)


async def test_every_streamed_field_is_made_safe_not_only_the_text() -> None:
    body = sse(
        r'data: {"id":"c\ud800","model":"m\uDFFF","choices":[{"index":0,"delta":'
        r'{"reasoning_content":"think \udc00","content":"a \ud800b"}}]}',
        r'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t\ud800",'
        r'"function":{"name":"f\ud800","arguments":"{}"}}]}}]}',
        r'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop\ud800"}]}',
        "data: [DONE]",
    )
    async with canned_server(http_response(200, SSE, body)) as url:
        async with gateway_at(url) as gateway:
            result = await gateway.stream(user("hi")).collect()
    assert (result.text, result.reasoning) == ("a \ufffdb", "think \ufffd")
    assert (result.response_id, result.model) == ("c\ufffd", "m\ufffd")
    assert result.finish_reason == "stop\ufffd"
    assert [(c.id, c.name) for c in result.tool_calls] == [("t\ufffd", "f\ufffd")]


async def test_a_mid_stream_error_with_a_lone_surrogate_is_still_the_error() -> None:
    body = sse(
        'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}',
        r'data: {"error":{"code":"upstream_error","message":"broke \ud800 here"}}',
    )
    async with canned_server(http_response(200, SSE, body)) as url:
        async with gateway_at(url) as gateway:
            with pytest.raises(StreamInterruptedError) as caught:
                await gateway.stream(user("hi")).collect()
    assert caught.value.code == "upstream_error"
    assert "broke \ufffd here" in utf8(str(caught.value))


async def test_a_chunk_read_again_for_its_huge_integer_is_made_safe_too() -> None:
    huge = "9" * 5000  # past Python's int() limit: the chunk is parsed a second way
    body = sse(
        r'data: {"choices":[{"index":0,"delta":{"content":"x \ud800"}}],"n":' + huge + "}",
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        "data: [DONE]",
    )
    async with canned_server(http_response(200, SSE, body)) as url:
        async with gateway_at(url) as gateway:
            result = await gateway.stream(user("hi")).collect()
    assert result.text == "x \ufffd"


def completion(content: str) -> bytes:
    return (
        '{"id":"c1","model":"m","choices":[{"index":0,"finish_reason":"stop",'
        f'"message":{{"role":"assistant","content":"{content}"}}}}]}}'
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        completion(r"a \ud800 b"),
        completion("a \\uDBFF b"),
        # Encoded straight into the bytes (no escape): json.loads reads bytes with
        # "surrogatepass", so this too would decode to a lone surrogate.
        completion("a ").replace(b"a ", b"a \xed\xa0\x80 b"),
        # UTF-16: json.loads reads it, and it has no UTF-8 to look into.
        completion(r"a \ud800 b").decode().encode("utf-16-le"),
    ],
    ids=["escaped", "upper-case", "utf8-bytes", "utf16"],
)
async def test_a_whole_reply_is_made_safe_however_it_spells_the_surrogate(body: bytes) -> None:
    async with canned_server(http_response(200, JSON, body)) as url:
        async with gateway_at(url) as gateway:
            result = await gateway.chat(user("hi"))
    assert result.text == "a \ufffd b"


async def test_a_whole_reply_read_again_for_its_huge_integer_is_made_safe_too() -> None:
    body = completion(r"a \ud800 b")[:-1] + b',"n":' + b"9" * 5000 + b"}"
    async with canned_server(http_response(200, JSON, body)) as url:
        async with gateway_at(url) as gateway:
            result = await gateway.chat(user("hi"))
    assert result.text == "a \ufffd b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'"\ud83d\ude00"', "\U0001f600"),  # a valid pair: one character, kept
        (r'"\\ud800"', "\\ud800"),  # an escaped backslash: plain text, kept
        (r'"\ud800\ud800"', "\ufffd\ufffd"),  # two highs make no pair
        (r'"\ude00\ud83d"', "\ufffd\ufffd"),  # a pair the wrong way round
        (r'"caf\u00e9 \ud7ff"', "café \ud7ff"),  # escapes just below the range
    ],
)
def test_only_lone_surrogates_are_replaced(text: str, expected: str) -> None:
    assert loads(text) == expected
    assert loads_bytes(text.encode()) == expected


def test_keys_and_nested_values_are_replaced() -> None:
    text = r'{"k\ud800": [1, {"deep": ["\udfff", null, 2.5]}], "ok": "\ud800"}'
    expected = {"k\ufffd": [1, {"deep": ["\ufffd", None, 2.5]}], "ok": "\ufffd"}
    assert loads(text) == expected
    assert loads(" " + text) == expected  # the json.loads path (leading whitespace)
    assert loads_bytes(text.encode()) == expected


@pytest.mark.parametrize(("status", "stream"), [(400, False), (400, True), (200, True)])
async def test_an_error_body_with_a_lone_surrogate_is_an_error_of_safe_text(
    status: int, stream: bool
) -> None:
    # A 400's JSON error envelope, and (200) a JSON error body where an event stream
    # was asked for: both are read whole into the error's message.
    body = b'{"error": {"message": "bad \\ud800 thing", "code": "x\\udc00"}}'
    async with canned_server(http_response(status, JSON, body)) as url:
        async with gateway_at(url) as gateway:
            with pytest.raises(Exception) as caught:
                if stream:
                    async for _ in gateway.stream(user("hi"), max_retries=0):
                        pass
                else:
                    await gateway.chat(user("hi"), max_retries=0)
    error = caught.value
    assert "bad \ufffd thing" in utf8(str(error))
    assert utf8(json.dumps(error.to_dict(), ensure_ascii=False))  # type: ignore[attr-defined]


def test_media_and_catalog_bodies_are_read_with_the_same_safe_reader() -> None:
    from alltoken_agent.gateway.catalog_api import _decode
    from alltoken_agent.media._wire import json_body

    request = httpx.Request("GET", "http://127.0.0.1/v1/models")
    body = b'{"status": "failed", "error": {"message": "bad \\ud800"}, "data": ["m\\udc00"]}'
    response = httpx.Response(200, content=body, request=request)
    assert utf8(json.dumps(json_body(response), ensure_ascii=False)) == (
        '{"status": "failed", "error": {"message": "bad \ufffd"}, "data": ["m\ufffd"]}'
    )
    assert _decode(response)["data"] == ["m\ufffd"]
