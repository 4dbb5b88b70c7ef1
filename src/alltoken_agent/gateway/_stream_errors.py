"""The errors of a stream that broke after its reply began: what had arrived goes with them.

Nothing is retried once a body has begun (see ``ChatStream``): the caller gets the text
so far as ``partial_text``, never as a complete answer.
"""

from __future__ import annotations

from typing import Any

from alltoken_agent.errors import GatewayError, StreamInterruptedError
from alltoken_agent.gateway._envelope import error_from_payload
from alltoken_agent.gateway.redact import Redactor


def interrupted(
    message: str,
    text: list[str],
    request_id: str | None,
    *,
    code: str = "stream_interrupted",
    cls: type[StreamInterruptedError] = StreamInterruptedError,
) -> StreamInterruptedError:
    """A break in the middle of the reply, after ``text`` (the pieces so far) had arrived."""
    received = sum(len(t) for t in text)
    return cls(
        f"{message}; {received} characters had arrived and are not a complete answer",
        code=code,
        request_id=request_id,
        partial_text="".join(text),
    )


def mid_stream_error(
    chunk: dict[str, Any], text: list[str], redact: Redactor, request_id: str | None
) -> GatewayError:
    """An error object the gateway sent in place of a chunk, after ``text`` had arrived."""
    error = error_from_payload(
        chunk, status=None, headers={}, redact=redact, cls=StreamInterruptedError
    )
    if isinstance(error, StreamInterruptedError):
        error.partial_text = "".join(text)
    error.request_id = error.request_id or request_id
    return error
