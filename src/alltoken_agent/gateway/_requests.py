"""A gateway's own requests on its pool: one POST or GET with the retry policy.

Chat, the catalog and ``check`` go through here; each request is sent by
``send_once`` and retried by ``with_retries`` (_transport.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from alltoken_agent.errors import GatewayError
from alltoken_agent.gateway._deadline import Deadlines, within_total
from alltoken_agent.gateway._transport import RetryNotice, send_once, with_retries
from alltoken_agent.gateway.retry import RetryPolicy


async def post(
    client: httpx.AsyncClient,
    path: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None,
    *,
    stream: bool,
    timeout: httpx.Timeout,
    redact: Callable[[str], str],
    target: str,
    idle_read: float | None,
    retry: RetryPolicy,
    on_retry: Callable[[RetryNotice], None] | None,
) -> httpx.Response:
    """POST with the retry policy; returns a successful response.

    With ``stream=True`` the response body is not read yet, and nothing is
    retried after this returns.
    """

    def attempt() -> Awaitable[httpx.Response | GatewayError]:
        request = client.build_request("POST", path, json=body, headers=headers, timeout=timeout)
        return send_once(
            client, request, stream=stream, redact=redact, target=target, idle_read=idle_read
        )

    return await with_retries(attempt, retry, on_retry)


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str] | None,
    auth: bool,
    timeout: httpx.Timeout,
    redact: Callable[[str], str],
    idle_read: float | None,
    retry: RetryPolicy,
    on_retry: Callable[[RetryNotice], None] | None,
    deadlines: Deadlines,
) -> httpx.Response:
    """GET with the retry policy within the total deadline; a successful, fully read response.

    ``url`` is relative to the base URL or absolute (the public catalog);
    ``auth=False`` leaves the Authorization header out (public endpoints).
    """

    def attempt() -> Awaitable[httpx.Response | GatewayError]:
        request = client.build_request("GET", url, params=params, timeout=timeout)
        if not auth:
            request.headers.pop("Authorization", None)
        return send_once(
            client,
            request,
            stream=False,
            redact=redact,
            target=str(request.url),
            idle_read=idle_read,
        )

    return await within_total(deadlines.start(), lambda: with_retries(attempt, retry, on_retry))
