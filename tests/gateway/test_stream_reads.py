"""How a streamed body is read: the decoder's whole-event path, the pool's direct reads,
encoded bodies through httpx, and the one deadline timer per request."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import httpx
import pytest

from alltoken_agent import StreamInterruptedError
from alltoken_agent.config import TimeoutSettings
from alltoken_agent.gateway._deadline import ReplyClock
from alltoken_agent.gateway._pool import direct_reader
from alltoken_agent.gateway.sse import SSEDecoder
from tests.gateway.helpers import gateway_for, user
from tests.gateway.wire_server import canned_server, http_response, sse

MIXED = (
    'data: {"a":1}\n\n'
    ": ping\n\n"
    "event: message\nid: 7\ndata: one\ndata: two\n\n"
    "data:no-space\r\n\r\n"
    "data: \n\n"
    "\n\n\n"
    "data: café ☕ 漢字\n\n"
    "data: [DONE]\n\n"
    ': {"cost":"0.1"}\n\n'
).encode()


def decode(pieces: list[bytes]) -> list[tuple[bool, str]]:
    decoder = SSEDecoder()
    out: list[tuple[bool, str]] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.close())
    return out


def test_every_split_of_a_mixed_body_decodes_as_byte_by_byte() -> None:
    """Whole-event reads take a shortcut; it must give what the line-by-line path gives."""
    expected = decode([MIXED[i : i + 1] for i in range(len(MIXED))])
    assert expected[:3] == [(False, '{"a":1}'), (True, "ping"), (False, "one\ntwo")]
    assert (False, "café ☕ 漢字") in expected and expected[-1] == (True, '{"cost":"0.1"}')
    assert decode([MIXED]) == expected
    for cut in range(1, len(MIXED)):
        assert decode([MIXED[:cut], MIXED[cut:]]) == expected, cut


def test_invalid_utf8_in_a_whole_event_is_replaced() -> None:
    assert decode([b"data: a\xffb\n\n"]) == [(False, "a\ufffdb")]


def test_a_character_cut_at_the_end_of_a_whole_event_read_waits_for_its_rest() -> None:
    body = "data: x\n\ndata: ☕\n\n".encode()
    cut = body.index("☕".encode()) + 1
    assert decode([body[:cut], body[cut:]]) == [(False, "x"), (False, "☕")]


async def test_a_gzip_encoded_stream_goes_through_httpx_and_decodes() -> None:
    """A proxy that compresses the event stream: httpx decodes it, not the direct reads."""
    body = sse(
        'data: {"choices":[{"index":0,"delta":{"content":"zipped"}}]}',
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        "data: [DONE]",
    )
    head = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
    async with canned_server(http_response(200, head, gzip.compress(body))) as url:
        async with gateway_for(_At(url)) as gateway:
            result = await gateway.stream(user("hi")).collect()
    assert result.text == "zipped"
    assert result.finish_reason == "stop"


EVENT_STREAM = {"Content-Type": "text/event-stream"}


async def test_chunk_payloads_parse_as_json_loads_would() -> None:
    """Whitespace around a chunk's JSON is fine; a second value after it is malformed."""
    body = sse(
        'data:   {"choices":[{"index":0,"delta":{"content":"a"}}]}  ',
        'data: {"choices":[{"index":0,"delta":{"content":"b"}}]}\t',
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        "data: [DONE]",
    )
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with gateway_for(_At(url)) as gateway:
            result = await gateway.stream(user("hi")).collect()
    assert (result.text, result.finish_reason) == ("ab", "stop")
    body = sse('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}{"x":1}', "data: [DONE]")
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with gateway_for(_At(url)) as gateway:
            with pytest.raises(StreamInterruptedError) as caught:
                await gateway.stream(user("hi")).collect()
    assert caught.value.code == "malformed_chunk"


class _At:
    """What ``gateway_for`` needs of a server: its base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


async def test_a_pooled_stream_is_read_directly_and_others_through_httpx(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        async with gateway.stream(user("hi")) as stream:
            response = stream._response
            assert response is not None
            assert direct_reader(response) is not None  # the pool's body, unencoded
            assert direct_reader(response) is None  # taken over once only
    mocked = httpx.Response(200, content=b"data: [DONE]\n\n")
    assert direct_reader(mocked) is None


def _clock_timers(loop: asyncio.AbstractEventLoop) -> list[Any]:
    scheduled = getattr(loop, "_scheduled", [])
    return [
        handle
        for handle in scheduled
        if not handle.cancelled()
        and isinstance(getattr(handle._callback, "__self__", None), ReplyClock)
    ]


async def test_no_deadline_timer_outlives_its_request(sim: Any) -> None:
    """One timer per request, and none left behind holding the task for the total time."""
    limits = TimeoutSettings(idle=30.0, total=60.0)
    loop = asyncio.get_running_loop()
    async with gateway_for(sim, timeout=limits) as gateway:
        await gateway.chat(user("hi"))
        assert _clock_timers(loop) == []
        await gateway.stream(user("hi")).collect()
        assert _clock_timers(loop) == []
        async with gateway.stream(user("hi")) as stream:
            async for _ in stream:
                assert len(_clock_timers(loop)) == 1
                break
        assert _clock_timers(loop) == []


async def test_a_cancel_from_the_caller_while_sending_stays_a_cancel(sim: Any) -> None:
    """The total deadline's timer cancels only for itself, also before the headers."""
    limits = TimeoutSettings(total=60.0)
    async with gateway_for(sim, timeout=limits) as gateway:
        stream = gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": "slow:2"})
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(stream.collect(), 0.3)
        result = await gateway.stream(user("hi")).collect()
    assert result.finish_reason == "stop"
