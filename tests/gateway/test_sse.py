from __future__ import annotations

from alltoken_agent.gateway.sse import SSEDecoder


def decode_all(pieces: list[bytes]) -> list[tuple[bool, bytes]]:
    decoder = SSEDecoder()
    out: list[tuple[bool, bytes]] = []
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
