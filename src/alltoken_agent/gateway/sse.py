"""A lean Server-Sent Events decoder that keeps comment lines.

AllToken sends its per-request cost as an SSE comment (``: {...}``) after
``data: [DONE]``; decoders that drop comments (the openai SDK's) lose it.
"""

from __future__ import annotations

import codecs

Message = tuple[bool, str]
"""``(is_comment, payload)``: a data payload, or the text of a comment line."""

DEFAULT_MAX_LINE = 8 * 1024 * 1024
"""Longest line accepted, in characters (bytes, for ASCII): 8 MiB.

Far above any real chunk (a tool call's arguments arrive in many small deltas),
and small enough that a hostile gateway cannot make us hold hundreds of MB.
"""


_UTF8 = codecs.getincrementaldecoder("utf-8")


class LineTooLongError(ValueError):
    """A line grew past the decoder's bound.

    Internal to ``gateway/``: ``ChatStream`` turns it into a ``StreamInterruptedError``
    with code ``malformed_chunk`` (and the partial text), so callers never see it.
    """


class SSEDecoder:
    """Splits a byte stream into data payloads and comments.

    Follows the event-stream grammar for what these gateways send: ``data:``
    lines (several in one event are joined with a newline), ``:`` comments,
    blank lines ending an event, LF or CRLF line ends. ``event:``, ``id:`` and
    ``retry:`` fields are read and ignored. Bytes are decoded once per network
    read (incrementally, so a character split across reads survives), which is
    cheaper than decoding each payload.

    Work is linear in the bytes received: a read with no line end is only kept
    (its pieces are joined once, when the line ends), so one long line fed in
    many reads is not copied again on every read. A line longer than
    ``max_line`` characters raises ``LineTooLongError``.
    """

    __slots__ = ("_data", "_decoder", "_max_line", "_pending", "_pending_len", "_split")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._pending: list[str] = []
        self._pending_len = 0
        self._max_line = max_line
        self._data: list[str] = []
        self._decoder: codecs.IncrementalDecoder | None = None
        """Made on the first read that is not whole ASCII-ended text (most streams: never)."""
        self._split = False
        """The incremental decoder holds the start of a character split across reads."""

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        if not self._split and chunk[-1:] < b"\x80" and not final:
            # The usual read: nothing held from the last one, and it ends in ASCII,
            # so no character is cut at its end.
            try:
                return chunk.decode()
            except UnicodeDecodeError:  # invalid bytes inside: replaced as below
                pass
        decoder = self._decoder
        if decoder is None:
            if not chunk:
                return ""  # the end, with nothing held
            decoder = self._decoder = _UTF8("replace")
        text = decoder.decode(chunk, final)
        self._split = bool(decoder.getstate()[0])
        return text

    def feed(self, chunk: bytes) -> list[Message]:
        """Decode the next piece of the body; returns the complete messages in it.

        Raises:
            LineTooLongError: A line is longer than the bound.
        """
        text = self._decode(chunk)
        if (
            text[-2:] == "\n\n"
            and not self._pending
            and not self._data
            and "\r" not in text
            and len(text) <= self._max_line
        ):
            if text.find("\n") == len(text) - 2 and text[:6] == "data: ":
                return [(False, text[6:-2])]  # one data line: a paced stream's every read
            return self._events(text)
        return self._lines(text)

    def _lines(self, text: str) -> list[Message]:
        """The messages completed by ``text``, line by line (any read)."""
        if "\n" not in text:
            # No line ends here: keep the piece; joining now would copy the
            # whole pending line again on every read (quadratic in its length).
            if text:
                self._pending.append(text)
                self._pending_len += len(text)
                if self._pending_len > self._max_line:
                    self._too_long(self._pending_len)
            return []
        if self._pending:
            self._pending.append(text)
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_len = 0
        lines = text.split("\n")
        tail = lines.pop()
        if tail:
            self._pending.append(tail)
            self._pending_len = len(tail)
        if len(text) > self._max_line:
            # Checked per read, not per line: only a read this large can hold a long line.
            longest = max(len(line) for line in lines) if lines else 0
            self._too_long(max(longest, self._pending_len))
        out: list[Message] = []
        data = self._data
        for line in lines:
            if not line or line == "\r":
                if data:
                    out.append((False, data[0] if len(data) == 1 else "\n".join(data)))
                    data.clear()
                continue
            if line[-1] == "\r":
                line = line[:-1]
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif line[0] == ":":
                out.append((True, line[1:].strip()))
        return out

    def _events(self, text: str) -> list[Message]:
        """Whole events (LF line ends, nothing pending): most reads of a stream.

        The same messages as the line-by-line path, without its per-line steps for the
        usual event, one ``data:`` line.
        """
        out: list[Message] = []
        for event in text[:-2].split("\n\n"):
            if event[:6] == "data: " and "\n" not in event:
                out.append((False, event[6:]))
            elif event:
                out += self._lines(event + "\n\n")
        return out

    def close(self) -> list[Message]:
        """Flush what is left when the body ends without a final blank line."""
        rest = self._decode(b"", final=True)
        if rest:
            self._pending.append(rest)
        if not (self._pending or self._data):
            return []
        out = self.feed(b"\n\n")
        self._pending.clear()
        self._pending_len = 0
        return out

    def _too_long(self, length: int) -> None:
        if length > self._max_line:
            self._pending.clear()
            self._pending_len = 0
            raise LineTooLongError(
                f"the gateway sent a line longer than {self._max_line} characters"
            )
