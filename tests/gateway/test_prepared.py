"""Streamed chat requests prepared once per header set (_prepared.py).

The same request on the wire as httpx builds, the reply's cookies and log line as
before, no request body kept by an open stream, and httpx's own path wherever the
pool would not carry the request as it is.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from alltoken_agent.gateway._prepared import MAX_PREPARED
from tests.gateway.helpers import gateway_for, user
from tests.gateway.wire_server import canned_server, http_response, sse

EVENT_STREAM = {"Content-Type": "text/event-stream"}
BODY = sse(
    'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}',
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    "data: [DONE]",
)


class _At:
    """What ``gateway_for`` needs of a server: its base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def _headers(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    pairs = [line.partition(":") for line in lines if line]
    return sorted((name.strip().lower(), value.strip()) for name, _, value in pairs)


async def _through_httpx(request: httpx.Request) -> None:
    """A request hook: with one, the client builds and sends every request itself."""


async def test_a_prepared_stream_sends_what_httpx_builds() -> None:
    seen: list[tuple[bytes, bytes]] = []
    messages = user("héllo ☕")
    async with canned_server(http_response(200, EVENT_STREAM, BODY), seen) as url:
        async with gateway_for(_At(url)) as gateway:
            for _ in range(2):  # the second reuses what the first prepared
                result = await gateway.stream(
                    messages, extra_headers={"X-Trace": "t-1"}, temperature=0.5
                ).collect()
                assert result.text == "ok"
            gateway._client.event_hooks["request"].append(_through_httpx)
            await gateway.stream(
                messages, extra_headers={"X-Trace": "t-1"}, temperature=0.5
            ).collect()
    assert len(seen) == 3
    (first, first_body), (again, again_body), (built, built_body) = seen
    assert first.split(b"\r\n")[0] == b"POST /v1/chat/completions HTTP/1.1"
    assert first_body == again_body == built_body  # httpx's JSON encoding, byte for byte
    assert json.loads(first_body)["messages"] == messages
    assert _headers(first) == _headers(again) == _headers(built)
    names = dict(_headers(first))
    assert names["content-length"] == str(len(first_body))
    assert names["content-type"] == "application/json"
    assert names["accept"] == "text/event-stream" and names["x-trace"] == "t-1"
    assert names["authorization"].startswith("Bearer ")


async def test_an_open_stream_holds_neither_the_request_body_nor_its_encoding() -> None:
    """A server holds many streams open: what was sent is not kept with them."""
    async with canned_server(http_response(200, EVENT_STREAM, BODY)) as url:
        async with gateway_for(_At(url)) as gateway:
            async with gateway.stream(user("x" * 5000)) as stream:
                response = stream._response
                assert response is not None
                assert response.request.url == httpx.URL(url + "/chat/completions")
                assert response.request.content == b""
                assert stream._open_response is None  # the body it would resend
                assert (await stream.collect()).text == "ok"


async def test_a_cookie_a_stream_reply_sets_is_sent_with_the_next_request() -> None:
    seen: list[tuple[bytes, bytes]] = []
    head = {**EVENT_STREAM, "Set-Cookie": "lb=node-2; Path=/"}
    async with canned_server(http_response(200, head, BODY), seen) as url:
        async with gateway_for(_At(url)) as gateway:
            await gateway.stream(user("hi")).collect()
            await gateway.stream(user("hi")).collect()
    assert "cookie" not in dict(_headers(seen[0][0]))
    assert dict(_headers(seen[1][0]))["cookie"] == "lb=node-2"


async def test_a_prepared_stream_logs_the_line_httpx_logs(caplog: pytest.LogCaptureFixture) -> None:
    async with canned_server(http_response(200, EVENT_STREAM, BODY)) as url:
        async with gateway_for(_At(url)) as gateway:
            with caplog.at_level(logging.INFO, logger="httpx"):
                await gateway.stream(user("hi")).collect()
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines == [f'HTTP Request: POST {url}/chat/completions "HTTP/1.1 200 X"']


async def test_a_stream_on_another_transport_goes_through_httpx() -> None:
    seen: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, headers=EVENT_STREAM, content=BODY)

    async with gateway_for(_At("http://gw.test/v1"), transport=httpx.MockTransport(answer)) as gw:
        result = await gw.stream(user("hi")).collect()
    assert result.text == "ok"
    assert seen[0]["stream"] is True


async def test_a_cookie_set_by_a_reply_that_is_retried_goes_with_the_retry() -> None:
    seen: list[tuple[bytes, bytes]] = []
    busy = http_response(
        429, {"Retry-After": "0", "Set-Cookie": "lb=node-3; Path=/"}, b'{"error":{}}'
    )
    async with canned_server([busy, http_response(200, EVENT_STREAM, BODY)], seen) as url:
        async with gateway_for(_At(url)) as gateway:
            result = await gateway.stream(user("hi")).collect()
    assert result.text == "ok"
    assert len(seen) == 2
    assert dict(_headers(seen[1][0]))["cookie"] == "lb=node-3"


async def test_requests_with_a_header_set_each_are_sent_past_the_prepared_ones() -> None:
    """Header sets that differ per request: the first ones are prepared, the rest built by
    httpx, each with its own headers."""
    seen: list[tuple[bytes, bytes]] = []
    count = MAX_PREPARED + 6
    async with canned_server(http_response(200, EVENT_STREAM, BODY), seen) as url:
        async with gateway_for(_At(url)) as gateway:
            for n in range(count):
                stream = gateway.stream(user("hi"), extra_headers={"X-Request-N": str(n)})
                assert (await stream.collect()).text == "ok"
    assert [dict(_headers(head))["x-request-n"] for head, _ in seen] == [
        str(n) for n in range(count)
    ]
