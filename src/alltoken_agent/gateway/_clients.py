"""The HTTP clients a gateway hands out, each with the key redaction wired into its replies.

Its own pooled ``httpx.AsyncClient`` (on aiohttp's connector, _pool.py), and the
official ``openai`` SDK clients (on httpx's own transport): every response any of
them receives passes the inbound redaction hook (redact.py) first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from alltoken_agent._version import __version__
from alltoken_agent.gateway._pool import AiohttpPool
from alltoken_agent.gateway._prepared import PreparedPosts
from alltoken_agent.gateway._secret import SecretKey
from alltoken_agent.gateway.redact import Redactor, inbound_hook, inbound_hook_sync

if TYPE_CHECKING:
    import openai

    from alltoken_agent.config import HttpSettings


def open_pool(
    base_url: str,
    key: SecretKey | None,
    provider_headers: Mapping[str, str],
    timeouts: httpx.Timeout,
    redact: Redactor,
    on_response: Callable[[httpx.Response], Awaitable[None]],
    http: HttpSettings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The gateway's connection pool, sending the key and masking it out of every reply.

    The bytes travel on ``transport`` when given (a test's ``httpx.MockTransport``),
    else on aiohttp's connector (_pool.py) with the ``[http]`` settings.
    """
    headers = {"User-Agent": f"alltoken-agent/{__version__}", **provider_headers}
    if key is not None:
        headers["Authorization"] = f"Bearer {key.get_secret_value()}"
    if transport is None:
        transport = AiohttpPool(
            max_connections=http.max_connections, keepalive_expiry=http.keepalive_expiry
        )
    return GatewayClient(
        base_url=base_url + "/",
        headers=headers,
        timeout=timeouts,
        transport=transport,
        # Every response of every kind (chat, media, catalog, downloads) passes here.
        # The key is masked out of every reply before anything else reads it.
        event_hooks={"response": [inbound_hook(redact, base_url), on_response]},
    )


class GatewayClient(httpx.AsyncClient):
    """httpx's client without per-request costs that add up at hundreds of streams.

    Joining the base URL and a path parses and quotes both again on every request
    (about 25 µs); a gateway uses few paths, so each joined URL is kept. httpx's
    cookie jar reads every response through the standard library's cookie machinery
    (about 60 µs) even when it sets no cookie; here only a response that sets one is
    read (gateways set none). Streamed chat requests are prepared once per header
    set (``prepared``, _prepared.py).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _Cookies()
        self._joined: dict[str, httpx.URL] = {}
        self._joined_base = self.base_url
        self.prepared = PreparedPosts(self)

    def _merge_url(self, url: httpx.URL | str) -> httpx.URL:
        if not isinstance(url, str):
            return super()._merge_url(url)
        if self._joined_base is not self.base_url:  # the base URL was replaced
            self._joined.clear()
            self._joined_base = self.base_url
        joined = self._joined.get(url)
        if joined is None:
            joined = super()._merge_url(url)
            if len(self._joined) < MAX_JOINED_URLS:  # downloads' one-off URLs stop here
                self._joined[url] = joined
        return joined


MAX_JOINED_URLS = 256


class _Cookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def sdk_options(
    key: SecretKey | None,
    base_url: str,
    timeouts: httpx.Timeout,
    max_retries: int,
    provider_headers: Mapping[str, str],
) -> dict[str, Any]:
    """The keyword arguments of an ``openai`` SDK client for this provider."""
    return {
        "api_key": key.get_secret_value() if key else "not-needed",
        "base_url": base_url,
        "timeout": timeouts,
        "max_retries": max_retries,
        "default_headers": dict(provider_headers),
    }


def openai_client(options: dict[str, Any], redact: Redactor, base_url: str) -> openai.OpenAI:
    """An official ``openai`` SDK client whose replies pass our redaction."""
    import openai

    # Its replies pass the same redaction as ours (headers and JSON bodies).
    hook = inbound_hook_sync(redact, base_url)
    http_client = openai.DefaultHttpxClient(event_hooks={"response": [hook]})
    return openai.OpenAI(**options, http_client=http_client)


def async_openai_client(
    options: dict[str, Any], redact: Redactor, base_url: str
) -> openai.AsyncOpenAI:
    """An official async ``openai`` SDK client whose replies pass our redaction."""
    import openai

    hook = inbound_hook(redact, base_url)
    http_client = openai.DefaultAsyncHttpxClient(event_hooks={"response": [hook]})
    return openai.AsyncOpenAI(**options, http_client=http_client)
