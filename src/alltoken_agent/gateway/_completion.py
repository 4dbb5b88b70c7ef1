"""Reading a non-streaming chat completion body into a ``ChatResult``."""

from __future__ import annotations

from typing import Any

import httpx

from alltoken_agent.errors import UpstreamError
from alltoken_agent.gateway._payload import checked, loads_bytes
from alltoken_agent.gateway.accounting import parse_service_tier, parse_usage, read_huge_ints
from alltoken_agent.gateway.stream import REQUEST_ID_FIELD
from alltoken_agent.gateway.types import ChatResult, ToolCall


def completion_result(response: httpx.Response) -> ChatResult:
    """Parse a successful response; a body that is not a completion is an ``UpstreamError``.

    The request id is the body field ``x-gateway-request-id`` when present (the
    documented place), else the response header (docs/wire-format.md §3 row 14).
    """
    header_request_id = response.headers.get(REQUEST_ID_FIELD)
    try:
        data = loads_bytes(response.content)  # lone surrogates as U+FFFD (see _payload)
    except ValueError:
        # Integers too long for Python fail like text that is not JSON; see read_huge_ints.
        text = response.text
        data = checked(read_huge_ints(text), text)
        if data is None:
            raise _not_json(response, header_request_id) from None
    return parse_completion(data, header_request_id)


def _not_json(response: httpx.Response, request_id: str | None) -> UpstreamError:
    # Say what came instead: an empty body, a web page (a captive portal or a proxy's
    # error page) or other bytes; the body itself is never quoted.
    status = response.status_code
    kind = response.headers.get("content-type", "").lower()
    if not response.content.strip():
        message, code = f"the gateway answered {status} with an empty body", "empty_reply"
    elif "html" in kind or response.content.lstrip()[:1] == b"<":
        message = (
            f"the gateway answered {status} with a web page instead of a completion "
            "(a proxy or login page in the way? check the base URL)"
        )
        code = "html_instead_of_json"
    else:
        message = f"the gateway answered {status} with a body that is not JSON"
        code = "malformed_response"
    return UpstreamError(message, status=status, code=code, request_id=request_id)


def parse_completion(data: Any, header_request_id: str | None) -> ChatResult:
    """Build the result from a decoded completion body."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise UpstreamError(
            "the gateway answered 200 without a `choices` list",
            status=200,
            code="malformed_response",
            request_id=header_request_id,
        )
    choices = data["choices"]
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    calls = tuple(
        ToolCall(
            id=call.get("id") or f"call_{index}",
            name=(call.get("function") or {}).get("name") or "",
            arguments=((call.get("function") or {}).get("arguments") or "").strip() or "{}",
        )
        for index, call in enumerate(message.get("tool_calls") or ())
    )
    usage, notice = (None, None) if data.get("usage") is None else parse_usage(data["usage"])
    return ChatResult(
        text=message.get("content") or "",
        reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=usage,
        model=data.get("model"),
        request_id=data.get(REQUEST_ID_FIELD) or header_request_id,
        response_id=data.get("id"),
        notices=() if notice is None else (notice,),
        service_tier=parse_service_tier(data.get("service_tier")),
    )
