from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import StreamInterruptedError
from alltoken_agent.gateway.sse import DEFAULT_MAX_LINE, LineTooLongError, SSEDecoder
from tests.gateway.helpers import gateway_for, user


def decode_all(pieces: list[bytes]) -> list[tuple[bool, str]]:
    decoder = SSEDecoder()
    out: list[tuple[bool, str]] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.close())
    return out


BODY = b'data: {"a":1}\n\ndata: [DONE]\n\n: {"cost":"0.1"}\n\n'


def test_data_lines_and_the_comment_after_done_are_both_kept() -> None:
    assert decode_all([BODY]) == [
        (False, '{"a":1}'),
        (False, "[DONE]"),
        (True, '{"cost":"0.1"}'),
    ]


def test_any_split_of_the_body_decodes_the_same() -> None:
    expected = decode_all([BODY])
    for size in range(1, len(BODY)):
        pieces = [BODY[i : i + size] for i in range(0, len(BODY), size)]
        assert decode_all(pieces) == expected, size


def test_crlf_line_ends_and_missing_space_after_colon() -> None:
    assert decode_all([b"data:{}\r\n\r\ndata: x\r\n\r\n"]) == [(False, "{}"), (False, "x")]


def test_multi_line_data_is_joined_with_newline_and_other_fields_ignored() -> None:
    body = b"event: message\nid: 7\nretry: 10\ndata: one\ndata: two\n\n"
    assert decode_all([body]) == [(False, "one\ntwo")]


def test_last_event_without_trailing_blank_line_is_flushed_on_close() -> None:
    assert decode_all([b"data: a\n\ndata: [DONE]"]) == [(False, "a"), (False, "[DONE]")]


def test_empty_body_gives_nothing() -> None:
    assert decode_all([b""]) == []


def test_a_long_line_fed_in_small_pieces_decodes_whole() -> None:
    """The decoder keeps pieces without a line end instead of re-joining them per read."""
    content = "x" * 300_000
    body = f'data: {{"c":"{content}"}}\n\n'.encode()
    pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    decoder = SSEDecoder()
    out: list[tuple[bool, str]] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    assert out == [(False, f'{{"c":"{content}"}}')]
    assert decoder.close() == []


def test_a_line_past_the_bound_raises_while_it_is_still_arriving() -> None:
    decoder = SSEDecoder(max_line=10_000)
    decoder.feed(b"data: " + b"a" * 6_000)
    with pytest.raises(LineTooLongError, match="longer than 10000 characters"):
        decoder.feed(b"a" * 6_000)


def test_a_line_past_the_bound_in_one_read_raises_too() -> None:
    decoder = SSEDecoder(max_line=1_000)
    with pytest.raises(LineTooLongError):
        decoder.feed(b"data: " + b"a" * 2_000 + b"\n\ndata: [DONE]\n\n")


def test_many_short_lines_in_one_big_read_are_within_the_bound() -> None:
    decoder = SSEDecoder(max_line=100)
    body = b"data: 1\n\n" * 1_000
    assert decoder.feed(body) == [(False, "1")] * 1_000


def test_a_character_split_across_reads_survives_the_pending_pieces() -> None:
    body = "data: café ☕\n\n".encode()
    cut = body.index("☕".encode()) + 1
    assert decode_all([body[:cut], body[cut:]]) == [(False, "café ☕")]


async def test_a_line_past_the_bound_ends_the_stream_as_a_malformed_chunk(sim: Any) -> None:
    """The 200 MB case, scaled down: a 2 MB line against a 256 KiB bound."""
    async with gateway_for(sim, max_line=256 * 1024) as gateway:
        stream = gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": "long_line:2"})
        with pytest.raises(StreamInterruptedError) as caught:
            await stream.collect()
    assert caught.value.code == "malformed_chunk"
    assert "longer than 262144 characters" in caught.value.message


async def test_a_long_line_within_the_default_bound_is_read_whole(sim: Any) -> None:
    assert DEFAULT_MAX_LINE >= 2 * 1024 * 1024
    async with gateway_for(sim) as gateway:
        stream = gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": "long_line:1"})
        result = await stream.collect()
    assert result.text.startswith("a" * 1024 * 1024)
    assert result.finish_reason == "stop"
