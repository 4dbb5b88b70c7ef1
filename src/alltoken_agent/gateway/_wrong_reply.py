"""Saying what really came back when a gateway answers a stream with something else.

A captive portal answers 200 with an HTML page, a proxy that ignores ``stream: true``
answers 200 with a JSON body, a broken one with nothing at all, and a moved endpoint
with a redirect. Each gets its own code and message here instead of "the reply ended
before it was finished". Only a few bytes of such a body are read, and what is quoted
from it is redacted and cut short: it comes from a host we did not expect.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping

from alltoken_agent.errors import GatewayError, UpstreamError
from alltoken_agent.gateway._envelope import error_from_payload
from alltoken_agent.gateway._payload import loads_bytes

MAX_PEEK = 64 * 1024
"""Most bytes read from a body that is not an event stream."""
_MAX_QUOTE = 120
# Compiled on first use by re's own cache (as are accounting.py's patterns): a wrong
# reply is rare, and a process should not pay for its patterns before its first request.
_TITLE = rb"<title[^>]*>(.*?)</title"
_TITLE_FLAGS = re.IGNORECASE | re.DOTALL


def redirect_error(
    status: int, headers: Mapping[str, str], redact: Callable[[str], str], target: str
) -> GatewayError:
    """The error for a 3xx answer: we do not follow redirects, we say where it pointed."""
    location = headers.get("location")
    where = _quote(redact(location)) if location else "nowhere (no Location header)"
    return GatewayError(
        f"the gateway at {target} redirected to {where}; redirects are not followed: "
        "check the base URL",
        status=status,
        code="redirected",
        request_id=_request_id(headers, redact),
    )


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """Whether the body should be read as SSE (also when no content type is given)."""
    kind = headers.get("content-type", "").lower()
    return not ("html" in kind or "json" in kind)


async def not_a_stream(
    status: int,
    headers: Mapping[str, str],
    chunks: AsyncIterator[bytes],
    redact: Callable[[str], str],
) -> GatewayError:
    """The error for a successful answer with an HTML or JSON body instead of SSE.

    A JSON error envelope becomes the error it describes (some gateways answer a
    streaming request's failure with 200 and ``{"error": ...}``).
    """
    body = bytearray()
    async for raw in chunks:
        body += raw
        if len(body) >= MAX_PEEK:
            break
    request_id = _request_id(headers, redact)
    kind = headers.get("content-type", "").lower()
    if "json" in kind:
        try:
            payload = loads_bytes(bytes(body))
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "error" in payload:
            return error_from_payload(payload, status=status, headers=headers, redact=redact)
        return UpstreamError(
            f"the gateway answered {status} with a JSON body instead of an event stream "
            "(it may not stream: try without streaming, or check the base URL)",
            status=status,
            code="json_instead_of_stream",
            request_id=request_id,
        )
    match = re.search(_TITLE, body, _TITLE_FLAGS)
    title = f" ({_quote(redact(match.group(1).decode('utf-8', 'replace')))})" if match else ""
    return UpstreamError(
        f"the gateway answered {status} with an HTML page{title} instead of an event stream "
        "(a proxy or sign-in page? check the base URL and the network)",
        status=status,
        code="html_instead_of_stream",
        request_id=request_id,
    )


def empty_reply(
    status: int, headers: Mapping[str, str], redact: Callable[[str], str]
) -> GatewayError:
    """The error for a successful answer whose body is empty."""
    return UpstreamError(
        f"the gateway answered {status} with an empty body instead of an event stream",
        status=status,
        code="empty_reply",
        request_id=_request_id(headers, redact),
    )


def _request_id(headers: Mapping[str, str], redact: Callable[[str], str]) -> str | None:
    value = headers.get("x-gateway-request-id")
    return redact(value)[:_MAX_QUOTE] if value else None


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _MAX_QUOTE:
        flat = flat[: _MAX_QUOTE - 3] + "..."
    return repr(flat)
