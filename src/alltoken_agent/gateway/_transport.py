"""One HTTP attempt, and the retry loop around it.

httpx exceptions are translated to ``GatewayError`` here, once, so the retry
policy and every caller see only our error tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from alltoken_agent.config import TimeoutSettings
from alltoken_agent.errors import GatewayConnectionError, GatewayError, GatewayTimeoutError
from alltoken_agent.gateway._envelope import error_from_response
from alltoken_agent.gateway._wrong_reply import redirect_error
from alltoken_agent.gateway.retry import RetryPolicy

Attempt = Callable[[], Awaitable["httpx.Response | GatewayError"]]
"""Makes one try; returns the successful response, or the error that decides a retry."""


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each retry sleep."""

    attempt: int
    """The retry about to be made, from 1."""
    delay: float
    error: GatewayError


async def send_once(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    stream: bool,
    redact: Callable[[str], str],
    target: str,
    idle_read: float | None = None,
) -> httpx.Response | GatewayError:
    """Send ``request`` once; a failure comes back as the error instead of raising.

    With ``stream=True`` a successful response's body is left unread. ``target``
    names the host in error messages. ``idle_read``: the request's read timeout is
    this idle deadline (see ``with_idle_read``), so a read timeout is ``idle_timeout``.
    """
    try:
        response = await client.send(request, stream=stream)
    except httpx.TimeoutException as exc:
        return timeout_error(exc, redact(target), idle_read)
    except httpx.TransportError as exc:
        reason = redact(str(exc) or type(exc).__name__)
        return GatewayConnectionError(f"cannot reach {target}: {reason}")
    if response.status_code < 300:
        return response
    if response.status_code < 400:
        # Not followed: a redirect to another host would take the key along, and a
        # POST turned into a GET is not what was asked. The error says where it went.
        await response.aclose()
        return redirect_error(response.status_code, response.headers, redact, target)
    raw = await response.aread()
    await response.aclose()
    return error_from_response(response.status_code, raw, response.headers, redact)


async def with_retries(
    attempt: Attempt,
    policy: RetryPolicy,
    on_retry: Callable[[RetryNotice], None] | None,
) -> httpx.Response:
    """Run ``attempt`` until it succeeds or the policy gives up (then raise its error).

    Only the response's arrival is retried: once a streamed body is being read,
    nothing goes through here again (replay safety).
    """
    retries = 0
    while True:
        outcome = await attempt()
        if isinstance(outcome, httpx.Response):
            return outcome
        delay = policy.delay(retries, outcome)
        if delay is None:
            outcome.attempts = retries + 1
            raise outcome
        if on_retry is not None:
            on_retry(RetryNotice(attempt=retries + 1, delay=delay, error=outcome))
        await asyncio.sleep(delay)
        retries += 1


def build_timeouts(
    value: float | TimeoutSettings | None, default: TimeoutSettings
) -> httpx.Timeout:
    """The `httpx.Timeout` for seconds (connect capped at the default) or full settings."""
    if isinstance(value, (int, float)):
        return httpx.Timeout(value, connect=min(float(value), default.connect))
    settings = value or default
    return httpx.Timeout(
        connect=settings.connect, read=settings.read, write=settings.write, pool=settings.pool
    )


def timeout_error(
    exc: httpx.TimeoutException, target: str, idle_read: float | None
) -> GatewayTimeoutError:
    """Our error for an httpx timeout; a read past the idle deadline says so."""
    if idle_read is not None and isinstance(exc, httpx.ReadTimeout):
        return GatewayTimeoutError(
            f"{target} sent nothing for {idle_read:g} s (idle timeout)", code="idle_timeout"
        )
    return GatewayTimeoutError(f"no answer from {target} in time ({type(exc).__name__})")


def with_idle_read(timeouts: httpx.Timeout, idle: float | None) -> httpx.Timeout:
    """``timeouts`` with reads that may pause no longer than ``idle`` seconds.

    For replies read whole (JSON answers, media files), the idle deadline is a pause
    in the bytes, which httpx's read timeout measures; a body that trickles forever
    is ended by the total deadline instead.
    """
    if idle is None or (timeouts.read is not None and timeouts.read <= idle):
        return timeouts
    return httpx.Timeout(
        connect=timeouts.connect, read=idle, write=timeouts.write, pool=timeouts.pool
    )
