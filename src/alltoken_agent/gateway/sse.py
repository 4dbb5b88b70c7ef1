"""A lean Server-Sent Events decoder that keeps comment lines.

AllToken sends its per-request cost as an SSE comment (``: {...}``) after
``data: [DONE]``; decoders that drop comments (the openai SDK's) lose it.
"""

from __future__ import annotations

Message = tuple[bool, bytes]
"""``(is_comment, payload)``: a data payload, or the text of a comment line."""


class SSEDecoder:
    """Splits a byte stream into data payloads and comments.

    Follows the event-stream grammar for what these gateways send: ``data:``
    lines (several in one event are joined with a newline), ``:`` comments,
    blank lines ending an event, LF or CRLF line ends. ``event:``, ``id:`` and
    ``retry:`` fields are read and ignored.
    """

    __slots__ = ("_data", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Message]:
        """Decode the next piece of the body; returns the complete messages in it."""
        if self._tail:
            chunk = self._tail + chunk
        lines = chunk.split(b"\n")
        self._tail = lines.pop()
        out: list[Message] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    out.append((False, data[0] if len(data) == 1 else b"\n".join(data)))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line.startswith(b":"):
                out.append((True, line[1:].strip()))
        return out

    def close(self) -> list[Message]:
        """Flush what is left when the body ends without a final blank line."""
        out = self.feed(b"\n\n") if (self._tail or self._data) else []
        self._tail = b""
        return out
