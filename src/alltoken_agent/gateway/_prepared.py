"""Streamed chat requests handed to the pool without httpx rebuilding each one.

httpx builds every request from scratch: it merges the client's headers with the
request's, normalises each one, encodes the body and adds its defaults, then the
pool turns the headers back into text. That is the largest per-stream cost at
hundreds of concurrent streams (bench/stream_overhead.py). A gateway's streamed chat
goes to one URL with one or a few header sets, so each set is prepared once, by
httpx itself (the header list is what httpx would send), and per request only the
JSON body and its length are new.

The reply is still an ``httpx.Response`` and passes the client's response hooks (the
inbound redaction first) as every other reply does; its ``request`` is the prepared
one, without the body (which is not kept once sent). Used only where httpx would hand
the request to our pool as it is: the pool is the client's transport for the URL (no
proxy mounted for it), and there is no auth flow, no request hook and no cookie to
send. Anything else goes through ``client.send``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from alltoken_agent.gateway._pool import AiohttpPool, as_text

if TYPE_CHECKING:
    import aiohttp

MAX_PREPARED = 64
"""Header sets prepared per client; requests with any other are built by httpx."""

_log = logging.getLogger("httpx")  # the line httpx logs for each request, kept
# httpx's own JSON encoding of a body (compact, UTF-8, no NaN), made once.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

Key = tuple[str, tuple[tuple[str, str], ...], tuple[float | None, ...]]


class Prepared:
    """One URL, header set and timeout as httpx would send them; the body aside."""

    __slots__ = ("headers", "pool", "request", "timeout", "url")

    def __init__(self, template: httpx.Request, bare: httpx.Request, pool: AiohttpPool) -> None:
        from multidict import CIMultiDict, CIMultiDictProxy  # aiohttp's, loaded with it

        self.request = bare
        """What ``response.request`` is: method, URL and headers, no body."""
        self.url = str(template.url)
        # One read-only set shared by every request: aiohttp takes it without a copy
        # per request and adds the body's Content-Length itself.
        self.headers = CIMultiDictProxy(
            CIMultiDict(
                (name, value)
                for name, value in as_text(template.headers)
                if name.lower() != "content-length"
            )
        )
        self.timeout: aiohttp.ClientTimeout = pool.timeout_of(template)
        self.pool = pool


class PreparedPosts:
    """The prepared POSTs of one ``httpx.AsyncClient`` on an ``AiohttpPool``."""

    __slots__ = ("_base", "_client", "_defaults", "_sets")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._sets: dict[Key, Prepared | None] = {}
        self._defaults = client.headers
        self._base = client.base_url

    def get(
        self, url: str, headers: Mapping[str, str] | None, timeout: httpx.Timeout
    ) -> Prepared | None:
        """The prepared POST for these, or None where it must go through ``client.send``."""
        client = self._client
        if client.event_hooks["request"] or client.auth is not None or client.cookies:
            return None
        if client.headers is not self._defaults or client.base_url is not self._base:
            # Replaced since: what was prepared is no longer what httpx would send.
            self._sets.clear()
            self._defaults, self._base = client.headers, client.base_url
        key: Key = (
            url,
            tuple(headers.items()) if headers else (),
            (timeout.connect, timeout.read, timeout.write, timeout.pool),
        )
        try:
            return self._sets[key]
        except KeyError:
            pass
        if len(self._sets) >= MAX_PREPARED:
            return None  # header sets that differ per request: httpx builds each once
        prepared = self._sets[key] = self._prepare(url, headers, timeout)
        return prepared

    def _prepare(
        self, url: str, headers: Mapping[str, str] | None, timeout: httpx.Timeout
    ) -> Prepared | None:
        client = self._client
        template = client.build_request("POST", url, json={}, headers=headers, timeout=timeout)
        pool = client._transport_for_url(template.url)
        if not isinstance(pool, AiohttpPool):
            return None  # a proxy's transport, or a test's
        bare = client.build_request("POST", url, headers=headers, timeout=timeout)
        return Prepared(template, bare, pool)

    async def send(self, prepared: Prepared, body: Any) -> httpx.Response:
        """POST ``body`` as JSON; the response's body is left to read.

        Raises:
            httpx.HTTPError: As ``client.send`` raises it (the pool translates aiohttp's).
        """
        client = self._client
        data = _encode(body).encode()
        request = prepared.request
        response = await prepared.pool.send(
            request, prepared.url, prepared.headers, data, prepared.timeout
        )
        response.request = request
        client.cookies.extract_cookies(response)
        if _log.isEnabledFor(logging.INFO):
            _log.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        try:
            for hook in client.event_hooks["response"]:
                await hook(response)
        except BaseException:
            await response.aclose()
            raise
        return response
