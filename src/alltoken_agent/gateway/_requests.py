"""A gateway's one request path: every call on its pool, with the retry policy.

Chat, the catalog, ``check`` and media (submits, polls, uploads, downloads) all come
through here. Each try is sent by ``send_once`` and the tries are run by
``with_retries`` (_transport.py), so retries, ``Retry-After``, the translation of
httpx errors and the idempotency rule are decided in one place.

Each call but chat's has the deadlines of ``[timeouts]``: ``total`` for the call with
its retries, and ``idle`` for a pause in the bytes of a reply read whole (codes
``total_timeout`` / ``idle_timeout``). Chat shares one clock between the request and
its streamed body instead (``_deadline.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from alltoken_agent.errors import GatewayError, GatewayTimeoutError
from alltoken_agent.gateway._clients import GatewayClient
from alltoken_agent.gateway._deadline import DeadlineExceededError, Deadlines, ReplyClock
from alltoken_agent.gateway._prepared import Prepared
from alltoken_agent.gateway._transport import (
    RetryNotice,
    Tries,
    checked,
    send_once,
    translate,
    with_retries,
)
from alltoken_agent.gateway.redact import Redactor
from alltoken_agent.gateway.retry import RetryPolicy

T = TypeVar("T")

_ONE_TRY = RetryPolicy(max_retries=0)


def short_url(url: str) -> str:
    """``scheme://host/path`` only: presigned query strings are credentials of a sort."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


class RequestPath:
    """The part of ``Gateway`` that sends its requests (chat, catalog, check, media)."""

    _client: httpx.AsyncClient
    _timeouts: httpx.Timeout
    _whole_timeouts: httpx.Timeout
    """Timeouts of replies read whole: the read timeout is the idle deadline."""
    _idle_read: float | None
    _deadlines: Deadlines
    _redact: Redactor
    retry: RetryPolicy
    on_retry: Callable[[RetryNotice], None] | None
    base_url: str

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        auth: bool = True,
        idempotent: bool = True,
        retry: bool = True,
        follow_redirects: bool = False,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> httpx.Response:
        """Send one request with the retry policy; return the successful, fully read response.

        ``url`` is relative to the base URL or absolute (the public catalog, an upload
        link). ``auth=False`` leaves the ``Authorization`` header out (public
        endpoints, other hosts); only then may ``follow_redirects`` be set (an upload
        to a bucket), since a redirect must not carry the key to another host.
        ``idempotent=False``: a try that may have reached the gateway unanswered is
        not made again (a submit without an ``Idempotency-Key`` the gateway honours
        could be billed twice). ``retry=False`` makes one try only. ``on_retry``
        replaces the gateway's own for this call.

        Raises:
            GatewayError: The final failure; its ``attempts`` counts the tries and
                ``maybe_delivered`` says whether one may have reached the gateway
                unanswered (also on the ``total_timeout`` of the whole call).
        """
        where = self._where(url)

        def attempt() -> Awaitable[httpx.Response | GatewayError]:
            request = self._client.build_request(
                method,
                url,
                json=json,
                params=params,
                headers=headers,
                content=content,
                timeout=self._whole_timeouts,
            )
            if not auth:
                request.headers.pop("Authorization", None)
            return send_once(
                self._client,
                request,
                stream=False,
                redact=self._redact,
                target=where,
                idle_read=self._idle_read,
                follow_redirects=follow_redirects and not auth,
            )

        policy = self.retry if retry else _ONE_TRY
        return await self.retrying(
            attempt, where=where, idempotent=idempotent, policy=policy, on_retry=on_retry
        )

    async def retrying(
        self,
        attempt: Callable[[], Awaitable[T | GatewayError]],
        *,
        where: str,
        idempotent: bool = True,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> T:
        """Run ``attempt`` with the retry policy (and ``on_retry``) within ``[timeouts] total``.

        For calls whose try is more than one request (a download streamed to disk).
        ``where`` names the call in the ``total_timeout`` error.
        """
        tries = Tries()
        notify = on_retry or self.on_retry
        work = with_retries(
            attempt, policy or self.retry, notify, idempotent=idempotent, tries=tries
        )
        total = self._deadlines.total
        if total is None:
            return await work
        # The same one-timer clock as a reply's (_deadline.py): it cancels the work only
        # for its own deadline, and a cancel from the caller stays the caller's.
        clock = ReplyClock(Deadlines(total=total))
        try:
            return await clock.within_total(lambda: work)
        except DeadlineExceededError:
            work.close()  # never started when the deadline had passed already
        finally:
            clock.stop()
        error = GatewayTimeoutError(
            self._redact(f"{where} took longer than {total:g} s, retries included (total timeout)"),
            code="total_timeout",
        )
        error.attempts = max(tries.count, 1)
        # A submit cut off this way is never taken as safe to send again.
        error.maybe_delivered = tries.delivered or tries.in_flight
        raise error

    async def open_link(self, url: str) -> httpx.Response:
        """One streamed GET of ``url`` without our key, whatever its status; no retries.

        Redirects are not followed: the caller checks each hop (a result link must not
        lead to ``file://``). Close the response when done.

        Raises:
            GatewayError: No reply (translated from httpx, as every request's).
        """
        request = self._client.build_request("GET", url, timeout=self._whole_timeouts)
        request.headers.pop("Authorization", None)
        try:
            return await self._client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise translate(exc, short_url(url), self._redact, self._idle_read) from None

    def translate(self, exc: httpx.HTTPError, where: str) -> GatewayError:
        """Our error for an httpx failure while reading a reply from ``where``."""
        return translate(exc, where, self._redact, self._idle_read)

    async def _send(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        *,
        stream: bool,
    ) -> httpx.Response:
        """POST chat with the retry policy; returns a successful response.

        With ``stream=True`` the response body is not read yet, and nothing is
        retried after this returns. The caller runs it under the reply's clock.
        """
        client = self._client
        # A streamed body gets the idle deadline per data line (stream.py), not per byte.
        timeout = self._timeouts if stream else self._whole_timeouts

        def attempt() -> Awaitable[httpx.Response | GatewayError]:
            if stream and isinstance(client, GatewayClient):
                # Asked per try: a cookie set by the last try's reply goes with the next.
                prepared = client.prepared.get(path, headers, timeout)
                if prepared is not None:
                    return self._send_prepared(client, prepared, body)
            request = self._client.build_request(
                "POST", path, json=body, headers=headers, timeout=timeout
            )
            return send_once(
                self._client,
                request,
                stream=stream,
                redact=self._redact,
                target=self.base_url,
                idle_read=None if stream else self._idle_read,
            )

        return await with_retries(attempt, self.retry, self.on_retry)

    async def _send_prepared(
        self, client: GatewayClient, prepared: Prepared, body: Mapping[str, Any]
    ) -> httpx.Response | GatewayError:
        """``send_once`` for a streamed chat request prepared once (_prepared.py)."""
        try:
            response = await client.prepared.send(prepared, body)
        except httpx.HTTPError as exc:
            return translate(exc, self.base_url, self._redact)
        return await checked(response, redact=self._redact, target=self.base_url)

    def _where(self, url: str) -> str:
        """The place a call goes, for messages (presigned query strings left out)."""
        return short_url(url) if "://" in url else f"{self.base_url}/{url}"
