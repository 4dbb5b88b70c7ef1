"""The HTTP clients a gateway hands out, each with the key redaction wired into its replies.

Its own pooled ``httpx.AsyncClient``, and the official ``openai`` SDK clients: every
response any of them receives passes the inbound redaction hook (redact.py) first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from alltoken_agent._version import __version__
from alltoken_agent.gateway.redact import Redactor, inbound_hook, inbound_hook_sync

if TYPE_CHECKING:
    import openai


def open_pool(
    base_url: str,
    key: SecretStr | None,
    provider_headers: Mapping[str, str],
    timeouts: httpx.Timeout,
    redact: Redactor,
    on_response: Callable[[httpx.Response], Awaitable[None]],
) -> httpx.AsyncClient:
    """The gateway's connection pool, sending the key and masking it out of every reply."""
    headers = {"User-Agent": f"alltoken-agent/{__version__}", **provider_headers}
    if key is not None:
        headers["Authorization"] = f"Bearer {key.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=base_url + "/",
        headers=headers,
        timeout=timeouts,
        # Few idle connections: httpcore scans its pool quadratically in the
        # number of idle connections on every request, which made 200
        # concurrent streams cost 3x the CPU with 200 kept alive.
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=20),
        # Every response of every kind (chat, media, catalog, downloads) passes here.
        # The key is masked out of every reply before anything else reads it.
        event_hooks={"response": [inbound_hook(redact, base_url), on_response]},
    )


def sdk_options(
    key: SecretStr | None,
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
