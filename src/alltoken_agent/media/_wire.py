"""Media on the wire: job routes and poll states, and calls with retries.

A ``Route`` says where a dialect submits and polls one kind of job, and each dialect
module turns a poll answer into a ``PollState``. Every call goes through the gateway's
one request path (``Gateway.request``, gateway/_requests.py), with two media rules:

* A submit that may have reached the gateway (the connection dropped after the request
  was sent, or the reply timed out) is retried only when it carries an
  ``Idempotency-Key`` (AllToken): without one (TokenHub, §2.1) a retry could be billed
  a second time (``idempotent=False``). A connect error is always retried: nothing
  was sent. Polls are always retried.
* Upload PUTs go to other hosts (R2) and never carry our ``Authorization`` header;
  result downloads, checked the same way and more, are in ``_download.py``.

Each call (a submit, one poll, a cancel, an upload, a download) has the deadlines of
``[timeouts]``: ``total`` for the call with its retries, and ``idle`` for a pause in
the bytes of a reply (code ``total_timeout`` / ``idle_timeout``). A job's wait for its
result is many calls, bounded by the job's own poll deadline instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from alltoken_agent.gateway._payload import loads_bytes  # lone surrogates made safe
from alltoken_agent.gateway._requests import short_url

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway

__all__ = ["FINAL", "PollState", "Route", "call", "json_body", "short_url"]

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
        data = loads_bytes(response.content) if response.content else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def call(
    gateway: Gateway, method: str, url: str, *, auth: bool = True, **options: Any
) -> httpx.Response:
    """Send one media request on the gateway's one request path (``Gateway.request``).

    ``options`` are those of ``Gateway.request`` (``json``, ``params``, ``headers``,
    ``content``, ``idempotent``); ``auth=False`` (an upload to a bucket) also follows
    the bucket's redirects.

    Raises:
        GatewayError: The final failure (its ``attempts`` says how many tries were made,
            ``maybe_delivered`` whether one may have reached the gateway unanswered).
            A non-idempotent request that may have been delivered is not retried, and
            raises ``GatewayConnectionError`` / ``GatewayTimeoutError`` saying so.
    """
    return await gateway.request(method, url, auth=auth, follow_redirects=not auth, **options)
