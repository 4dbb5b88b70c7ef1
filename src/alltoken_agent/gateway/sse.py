"""A lean Server-Sent Events decoder that keeps comment lines.

AllToken sends its per-request cost as an SSE comment (``: {...}``) after
``data: [DONE]``; decoders that drop comments (the openai SDK's) lose it.
"""

from __future__ import annotations

import codecs

Message = tuple[bool, str]
"""``(is_comment, payload)``: a data payload, or the text of a comment line."""


class SSEDecoder:
    """Splits a byte stream into data payloads and comments.

    Follows the event-stream grammar for what these gateways send: ``data:``
    lines (several in one event are joined with a newline), ``:`` comments,
    blank lines ending an event, LF or CRLF line ends. ``event:``, ``id:`` and
    ``retry:`` fields are read and ignored. Bytes are decoded once per network
    read (incrementally, so a character split across reads survives), which is
    cheaper than decoding each payload.
    """

    __slots__ = ("_data", "_decode", "_tail")

    def __init__(self) -> None:
        self._tail = ""
        self._data: list[str] = []
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode

    def feed(self, chunk: bytes) -> list[Message]:
        """Decode the next piece of the body; returns the complete messages in it."""
        text = self._decode(chunk)
        if self._tail:
            text = self._tail + text
        lines = text.split("\n")
        self._tail = lines.pop()
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

    def close(self) -> list[Message]:
        """Flush what is left when the body ends without a final blank line."""
        self._tail += self._decode(b"", final=True)
        out = self.feed(b"\n\n") if (self._tail or self._data) else []
        self._tail = ""
        return out
