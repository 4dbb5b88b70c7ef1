"""One HTTP attempt, the one translator from httpx errors to ours, and the retry loop.

Every request of a gateway goes through here: chat, the catalog, ``check``, media
submits, polls, uploads and downloads. httpx exceptions are translated to
``GatewayError`` once, in ``translate``, so the retry policy (retry.py) and every
caller see only our error tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpx

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import GatewayConnectionError, GatewayError, GatewayTimeoutError
from alltoken_agent.gateway._envelope import error_from_response
from alltoken_agent.gateway._wrong_reply import redirect_error
from alltoken_agent.gateway.retry import RetryPolicy

if TYPE_CHECKING:  # a pydantic model: annotations only (a plain chat reads no pydantic)
    from alltoken_agent.config import TimeoutSettings

T = TypeVar("T")

_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
"""Failures before a byte of the request left: asking again can never bill twice."""

NOT_RETRIED = (
    "; not retried: the request may have reached the gateway, which has no "
    "idempotency keys, so a retry could be billed twice"
)


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class RetryNotice(FrozenValue):
    """Told to ``on_retry`` before each retry sleep."""

    attempt: int
    """The retry about to be made, from 1."""
    delay: float
    error: GatewayError

    def __init__(self, attempt: int, delay: float, error: GatewayError) -> None:
        fields = self.__dict__
        fields["attempt"] = attempt
        fields["delay"] = delay
        fields["error"] = error


@dataclass(init=False, eq=False, repr=False)  # written out: not compiled at import
class Tries:
    """What the tries of one call did, for its final error (and its total deadline's)."""

    count: int = 0
    delivered: bool = False
    """Whether a finished try may have reached the gateway unanswered."""
    in_flight: bool = False
    """Whether a try is under way (it may have been sent) right now."""

    def __init__(self, count: int = 0, delivered: bool = False, in_flight: bool = False) -> None:
        self.count = count
        self.delivered = delivered
        self.in_flight = in_flight


def translate(
    exc: httpx.HTTPError,
    where: str,
    redact: Callable[[str], str],
    idle_read: float | None = None,
) -> GatewayError:
    """Our error for an httpx failure to get a reply from ``where`` (the one translator).

    Its ``maybe_delivered`` says whether the request may have reached the gateway: not
    after a connect error or a wait for a pooled connection, else yes. ``idle_read``:
    the request's read timeout is this idle deadline, so a read timeout is
    ``idle_timeout``.
    """
    error: GatewayError
    if isinstance(exc, httpx.TimeoutException):
        error = timeout_error(exc, where, idle_read)
    elif isinstance(exc, (httpx.ConnectError, httpx.UnsupportedProtocol)):
        error = GatewayConnectionError(f"cannot reach {where}: {_reason(exc)}")
    elif isinstance(exc, httpx.TransportError):
        error = GatewayConnectionError(
            f"the connection to {where} broke before the reply: {_reason(exc)}"
        )
    else:  # a URL, a decoding or a redirect error: asking again cannot help
        error = GatewayError(f"{where}: {_reason(exc)}", code="bad_reply")
    error.message = redact(error.message)
    error.maybe_delivered = not isinstance(exc, _NEVER_SENT)
    return error


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


async def send_once(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    stream: bool,
    redact: Callable[[str], str],
    target: str,
    idle_read: float | None = None,
    follow_redirects: bool = False,
) -> httpx.Response | GatewayError:
    """Send ``request`` once; a failure comes back as the error instead of raising.

    With ``stream=True`` a successful response's body is left unread. ``target``
    names the host in error messages. ``idle_read``: see ``translate``. A 3xx is
    never followed unless ``follow_redirects`` (requests without our key only).
    """
    try:
        response = await client.send(request, stream=stream, follow_redirects=follow_redirects)
    except httpx.HTTPError as exc:
        return translate(exc, target, redact, idle_read)
    return await checked(response, redact=redact, target=target, idle_read=idle_read)


async def checked(
    response: httpx.Response,
    *,
    redact: Callable[[str], str],
    target: str,
    idle_read: float | None = None,
) -> httpx.Response | GatewayError:
    """``response`` when it is a success, else its error (its body read and closed)."""
    if response.status_code < 300:
        return response
    if response.status_code < 400:
        # Not followed: a redirect to another host would take the key along, and a
        # POST turned into a GET is not what was asked. The error says where it went.
        await response.aclose()
        return redirect_error(response.status_code, response.headers, redact, target)
    try:
        raw = await response.aread()
    except httpx.HTTPError as exc:
        return translate(exc, target, redact, idle_read)
    finally:
        await response.aclose()
    return error_from_response(response.status_code, raw, response.headers, redact)


async def with_retries(
    attempt: Callable[[], Awaitable[T | GatewayError]],
    policy: RetryPolicy,
    on_retry: Callable[[RetryNotice], None] | None,
    *,
    idempotent: bool = True,
    tries: Tries | None = None,
) -> T:
    """Run ``attempt`` until it succeeds or the policy gives up (then raise its error).

    Only the response's arrival is retried: once a streamed body is being read,
    nothing goes through here again (replay safety). ``idempotent=False`` (a submit
    the gateway cannot dedupe): a try that may have reached the gateway unanswered
    is never made again, since a retry could be billed twice. The final error's
    ``attempts`` and ``maybe_delivered`` cover every try; ``tries`` is kept up to
    date for a deadline around this call.
    """
    tries = tries if tries is not None else Tries()
    while True:
        tries.count += 1
        tries.in_flight = True
        outcome = await attempt()
        tries.in_flight = False
        if not isinstance(outcome, GatewayError):
            return outcome
        tries.delivered = tries.delivered or outcome.maybe_delivered
        outcome.maybe_delivered = tries.delivered
        outcome.attempts = tries.count
        if outcome.maybe_delivered and not idempotent:
            outcome.message += NOT_RETRIED
            raise outcome
        delay = policy.delay(tries.count - 1, outcome)
        if delay is None:
            raise outcome
        if on_retry is not None:
            on_retry(RetryNotice(attempt=tries.count, delay=delay, error=outcome))
        await asyncio.sleep(delay)


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
