"""``ChatStream.batches()``: a read's events as one list, the same events as iterating.

The agent reads a reply through it, so a burst of chunks costs one generator hand-off
per network read instead of one per chunk. The canned server writes each reply in one
write, so its few hundred bytes arrive in one read on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import StreamInterruptedError
from alltoken_agent.gateway import ContentDelta, CostComment, StreamFinish, UsageChunk
from tests.gateway.helpers import gateway_for, user
from tests.gateway.wire_server import canned_server, http_response, sse

EVENT_STREAM = {"Content-Type": "text/event-stream"}


def _content(text: str) -> str:
    return 'data: {"choices":[{"index":0,"delta":{"content":"' + text + '"}}]}'


BODY = sse(
    _content("a"),
    _content("b"),
    _content("c"),
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}',
    "data: [DONE]",
    ': {"cost":"0.0000120000"}',
)


class _At:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


async def _batches(body: bytes) -> tuple[list[list[Any]], Any]:
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with gateway_for(_At(url)) as gateway:
            async with gateway.stream(user("hi")) as stream:
                batches = [batch async for batch in stream.batches()]
            return batches, stream.result


async def _events(body: bytes) -> tuple[list[Any], Any]:
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with gateway_for(_At(url)) as gateway:
            async with gateway.stream(user("hi")) as stream:
                events = [event async for event in stream]
            return events, stream.result


async def test_a_reads_chunks_come_as_one_list_and_flatten_to_the_streams_events() -> None:
    batches, result = await _batches(BODY)
    events, same = await _events(BODY)
    assert [event for batch in batches for event in batch] == events
    assert all(batch for batch in batches)  # no empty lists handed on
    # One write of a few hundred bytes: the three deltas and the finish arrive together.
    assert len(batches[0]) >= 4
    deltas = [ContentDelta("a"), ContentDelta("b"), ContentDelta("c")]
    assert events[:4] == [*deltas, StreamFinish("stop")]
    assert isinstance(events[4], UsageChunk) and isinstance(events[5], CostComment)
    assert result == same
    assert result.text == "abc"
    assert result.cost is not None and str(result.cost.amount) == "0.0000120000"


async def test_each_batch_is_a_new_list() -> None:
    """A consumer may keep a batch: the stream never refills one it handed on."""
    body = b"".join([BODY[: BODY.index(b"data: [DONE]")], b"data: [DONE]\n\n"])
    batches, _ = await _batches(body)
    assert len({id(batch) for batch in batches}) == len(batches)


async def test_the_events_before_a_malformed_chunk_in_the_same_read_still_come_first() -> None:
    """A read that fails part-way hands on what it parsed, then raises, as one by one."""
    body = sse(_content("kept"), _content("too"), "data: {not json")
    batches: list[list[Any]] = []
    async with canned_server(http_response(200, EVENT_STREAM, body)) as url:
        async with gateway_for(_At(url)) as gateway:
            async with gateway.stream(user("hi")) as stream:
                with pytest.raises(StreamInterruptedError) as caught:
                    async for batch in stream.batches():
                        batches.append(batch)
            events: list[Any] = []
            async with gateway.stream(user("hi")) as stream:
                with pytest.raises(StreamInterruptedError):
                    async for event in stream:
                        events.append(event)
    assert batches == [[ContentDelta("kept"), ContentDelta("too")]]
    assert events == [ContentDelta("kept"), ContentDelta("too")]
    assert caught.value.code == "malformed_chunk"
    assert caught.value.partial_text == "kepttoo"


async def test_a_stream_iterated_directly_and_left_early_releases_its_connection(sim: Any) -> None:
    """Iterating without ``async with``: leaving early closes the read it wraps, at once."""
    async with gateway_for(sim) as gateway:
        stream = gateway.stream(user("[[reply one two three four five six seven eight]]"))
        events = stream.__aiter__()
        first = await events.__anext__()
        assert first is not None
        await events.aclose()  # type: ignore[attr-defined]
        response = stream._response
        assert response is not None and response.is_closed
