"""Media on the wire: job routes and poll states, and calls with retries.

A ``Route`` says where a dialect submits and polls one kind of job, and each dialect
module turns a poll answer into a ``PollState``. Two things differ from chat requests,
so media has its own small retry loop on the gateway's pool and policy:

* A submit that may have reached the gateway (the connection dropped after the request
  was sent, or the reply timed out) is retried only when it carries an
  ``Idempotency-Key`` (AllToken): without one (TokenHub, §2.1) a retry could be billed
  a second time. A connect error is always retried: nothing was sent.
* Upload PUTs go to other hosts (R2) and never carry our ``Authorization`` header;
  result downloads, checked the same way and more, are in ``_download.py``.

Each call (a submit, one poll, a cancel, an upload, a download) has the deadlines of
``[timeouts]``: ``total`` for the call with its retries, and ``idle`` for a pause in
the bytes of a reply (code ``total_timeout`` / ``idle_timeout``). A job's wait for its
result is many calls, bounded by the job's own poll deadline instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx

from alltoken_agent.errors import (
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
)
from alltoken_agent.gateway import RetryNotice
from alltoken_agent.gateway._envelope import error_from_response
from alltoken_agent.gateway._transport import timeout_error

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway

T = TypeVar("T")

FINAL = frozenset({"completed", "failed", "cancelled", "expired"})
"""Statuses after which a job never changes."""


@dataclass(frozen=True)
class Route:
    """How one dialect submits and polls one kind of job."""

    create_path: str
    task_id: Callable[[Mapping[str, Any]], str | None]
    """Reads the task id from the create answer."""
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = False
    """Whether the gateway dedupes submits by ``Idempotency-Key`` (AllToken)."""
    dedupe_seconds: float | None = None
    """How long after a submit the gateway is known to dedupe a repeat of it by its key;
    None when it is not known to (then a lost answer is never resent on its own)."""
    poll_path: str = ""
    """Poll URL with a ``{task_id}`` placeholder."""
    poll_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PollState:
    """One poll answer, normalised."""

    status: str
    """``queued``, ``processing``, ``completed``, ``failed``, ``cancelled``, ``expired``,
    ``unknown``."""
    remote: str | None = None
    """The word the gateway used."""
    hint: float | None = None
    """Seconds the gateway asked us to wait (``next_poll_after_ms``, ``Retry-After``)."""
    error_code: str | None = None
    error_message: str | None = None

    @property
    def final(self) -> bool:
        """Whether the job will not change any more."""
        return self.status in FINAL


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a 2xx answer ({} when the body is empty or not an object)."""
    try:
        data = response.json() if response.content else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def short_url(url: str) -> str:
    """``scheme://host/path`` only: presigned query strings are credentials of a sort."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


async def call(
    gateway: Gateway,
    method: str,
    url: str,
    *,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    idempotent: bool = True,
    auth: bool = True,
    content: bytes | None = None,
) -> httpx.Response:
    """Send one request with the gateway's retry policy; return the successful response.

    Raises:
        GatewayError: The final failure (its ``attempts`` says how many tries were made,
            ``maybe_delivered`` whether one may have reached the gateway unanswered).
            A non-idempotent request that may have been delivered is not retried, and
            raises ``GatewayConnectionError`` / ``GatewayTimeoutError`` saying so.
    """
    tries = Tries()

    async def retrying() -> httpx.Response:
        while True:
            tries.count += 1
            tries.in_flight = True
            error, maybe_sent = await _attempt(
                gateway, method, url, json, params, headers, auth, content
            )
            tries.in_flight = False
            if isinstance(error, httpx.Response):
                return error
            tries.delivered = tries.delivered or maybe_sent
            error.maybe_delivered = tries.delivered
            error.attempts = tries.count
            if maybe_sent and not idempotent:
                error.message += (
                    "; not retried: the request may have reached the gateway, which has no "
                    "idempotency keys, so a retry could be billed twice"
                )
                raise error
            delay = gateway.retry.delay(tries.count - 1, error)
            if delay is None:
                raise error
            if gateway.on_retry is not None:
                gateway.on_retry(RetryNotice(attempt=tries.count, delay=delay, error=error))
            await asyncio.sleep(delay)

    return await within_call_total(gateway, _where(gateway, url), tries, retrying)


@dataclass
class Tries:
    """What the tries of one call did, for the error when its total deadline passes."""

    count: int = 0
    delivered: bool = False
    """Whether a finished try may have reached the gateway."""
    in_flight: bool = False
    """Whether a try was under way (it may have been sent) when the deadline passed."""


async def within_call_total(
    gateway: Gateway, where: str, tries: Tries, work: Callable[[], Awaitable[T]]
) -> T:
    """Run ``work`` (one call with its retries) under the ``[timeouts] total`` deadline.

    Raises:
        GatewayTimeoutError: The deadline passed first (code ``total_timeout``); its
            ``maybe_delivered`` is set when a try may have reached the gateway, so a
            submit cut off this way is never taken as safe to send again.
    """
    total = gateway.deadlines.total
    if total is None:
        return await work()
    with anyio.CancelScope(deadline=anyio.current_time() + total) as scope:
        return await work()
    assert scope.cancelled_caught  # only reached when the deadline cancelled the work
    error = GatewayTimeoutError(
        gateway.redact(f"{where} took longer than {total:g} s, retries included (total timeout)"),
        code="total_timeout",
    )
    error.attempts = max(tries.count, 1)
    error.maybe_delivered = tries.delivered or tries.in_flight
    raise error


def _where(gateway: Gateway, url: str) -> str:
    """The place a call goes, for messages (presigned query strings left out)."""
    return short_url(url) if "://" in url else f"{gateway.base_url}/{url}"


def timed_out(gateway: Gateway, where: str, exc: httpx.TimeoutException) -> GatewayTimeoutError:
    """The error of an httpx timeout: a pause past ``[timeouts] idle`` says so."""
    return timeout_error(exc, where, gateway._idle_read)


async def _attempt(
    gateway: Gateway,
    method: str,
    url: str,
    body: Any,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    auth: bool,
    content: bytes | None,
) -> tuple[httpx.Response | GatewayError, bool]:
    """One try; returns the response or the error, and whether the request may have been sent."""
    # The gateway's own pool: one set of connections per gateway (docs/architecture.md).
    client = gateway._client
    where = _where(gateway, url)
    try:
        request = client.build_request(
            method,
            url,
            json=body,
            params=params,
            headers=headers,
            content=content,
            timeout=gateway._whole_timeouts,
        )
        if not auth:
            request.headers.pop("Authorization", None)
        response = await client.send(request, follow_redirects=not auth)
    except _NEVER_SENT as exc:
        reason = gateway.redact(str(exc) or type(exc).__name__)
        return GatewayConnectionError(f"cannot reach {where}: {reason}"), False
    except httpx.TimeoutException as exc:
        return timed_out(gateway, where, exc), True
    except httpx.TransportError as exc:
        reason = gateway.redact(str(exc) or type(exc).__name__)
        message = f"the connection to {where} broke before the reply: {reason}"
        return GatewayConnectionError(message), True
    if response.status_code < 400:
        return response, False
    error = error_from_response(
        response.status_code, response.content, response.headers, gateway.redact
    )
    return error, False
