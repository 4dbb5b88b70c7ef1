"""Wire shapes the simulator never sends but real hosts may (docs/wire-format.md §3).

Served as exact bytes by ``wire_server.canned_server`` over loopback HTTP.
"""

from __future__ import annotations

import json

import pytest

from alltoken_agent import Gateway, Provider, StreamInterruptedError, UsageChunk
from tests.gateway.helpers import TEST_KEY, user
from tests.gateway.wire_server import canned_server, http_response, sse

JSON = {"Content-Type": "application/json"}
SSE = {"Content-Type": "text/event-stream"}


def gateway_at(base_url: str) -> Gateway:
    provider = Provider(name="canned", base_url=base_url, api_key_env=None, dialect="openai")
    return Gateway(provider, api_key=TEST_KEY, model="m")


def completion(**extra: object) -> bytes:
    body = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
        **extra,
    }
    return json.dumps(body).encode()


def chunk(**fields: object) -> str:
    return "data: " + json.dumps({"id": "c1", "model": "m", **fields})


@pytest.mark.parametrize(
    ("body_id", "header_id", "expected"),
    [("from-body", "from-header", "from-body"), (None, "from-header", "from-header")],
)
async def test_non_stream_request_id_is_the_body_field_then_the_header(
    body_id: str | None, header_id: str, expected: str
) -> None:
    extra = {"x-gateway-request-id": body_id} if body_id else {}
    headers = {**JSON, "x-gateway-request-id": header_id}
    async with canned_server(http_response(200, headers, completion(**extra))) as url:
        async with gateway_at(url) as gateway:
            result = await gateway.chat(user("hi"))
    assert result.text == "ok" and result.request_id == expected


@pytest.mark.parametrize(
    ("body_id", "expected"), [("from-body", "from-body"), (None, "from-header")]
)
async def test_stream_request_id_is_the_body_field_then_the_header(
    body_id: str | None, expected: str
) -> None:
    first = {"x-gateway-request-id": body_id} if body_id else {}
    body = sse(
        chunk(choices=[{"index": 0, "delta": {"content": "ok"}}], **first),
        chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        "data: [DONE]",
    )
    headers = {**SSE, "x-gateway-request-id": "from-header"}
    async with canned_server(http_response(200, headers, body)) as url:
        async with gateway_at(url) as gateway:
            result = await gateway.stream(user("hi")).collect()
    assert result.text == "ok" and result.request_id == expected


async def test_usage_on_the_finish_chunk_is_accepted() -> None:
    # The PATHS example attaches usage to the finish chunk instead of a `choices: []` one.
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    body = sse(
        chunk(choices=[{"index": 0, "delta": {"content": "ok"}}], usage=None),
        chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=usage),
        "data: [DONE]",
    )
    async with canned_server(http_response(200, SSE, body)) as url:
        async with gateway_at(url) as gateway:
            stream = gateway.stream(user("hi"))
            events = [event async for event in stream]
    assert stream.result.usage is not None and stream.result.usage.total_tokens == 5
    assert stream.result.finish_reason == "stop"
    assert sum(isinstance(e, UsageChunk) for e in events) == 1


async def test_error_object_mid_stream_is_interrupted_and_redacted() -> None:
    error = {"error": {"code": "upstream_error", "message": f"provider saw Bearer {TEST_KEY}"}}
    body = sse(
        chunk(choices=[{"index": 0, "delta": {"content": "par"}}]),
        "data: " + json.dumps(error),
    )
    async with canned_server(http_response(200, SSE, body)) as url:
        async with gateway_at(url) as gateway:
            with pytest.raises(StreamInterruptedError) as caught:
                await gateway.stream(user("hi")).collect()
    assert caught.value.code == "upstream_error"
    assert caught.value.partial_text == "par"
    assert TEST_KEY not in str(caught.value) + repr(caught.value)
