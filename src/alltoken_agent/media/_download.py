"""Result downloads: a checked link streamed to disk, retried from scratch, within a cap.

Result links go to other hosts (R2, temporary upstream URLs) and never carry our
``Authorization`` header. A result link is the gateway's choice, so it is checked
before it is fetched: only http(s) (never ``file://`` or another scheme, also not by
redirect), and no more bytes than the caller's cap, counted as they arrive (code
``unsafe_result_url`` / ``result_too_large``, never "link expired").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from alltoken_agent.errors import GatewayError, UpstreamError
from alltoken_agent.gateway._envelope import error_from_response
from alltoken_agent.media._wire import short_url
from alltoken_agent.media.files import PartFile

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway

CHUNK = 256 * 1024
"""Bytes read per step of a download (and the granularity of its progress events)."""


@dataclass(frozen=True)
class Downloaded:
    """A result file now on disk."""

    path: Path
    """Where it is: the target, or a free name beside it (see ``files.PartFile.commit``)."""
    size: int
    content_type: str | None
    """The response's ``Content-Type``."""
    head: bytes
    """The first bytes of the file, to sniff its type."""


async def download(
    gateway: Gateway,
    url: str,
    path: Path,
    *,
    on_bytes: Callable[[int, int | None], None] | None = None,
    max_bytes: int | None = None,
    replace: bool = True,
) -> Downloaded:
    """Stream ``url`` into ``path`` atomically, retrying transient failures from scratch.

    No ``Authorization`` header is sent: these are public or presigned links. With
    ``replace=False`` a file already at ``path`` stays, and the download goes beside it.

    Raises:
        GatewayError: The link answered an error (403 for an expired link) or kept
            failing; code ``unsafe_result_url`` for a link that is not http(s), and
            ``result_too_large`` past ``max_bytes`` (neither is retried).
    """
    refused = unsafe_link(url)
    if refused is not None:
        raise GatewayError(gateway.redact(refused), code="unsafe_result_url")

    def attempt() -> Awaitable[Downloaded | GatewayError]:
        return _download_once(gateway, url, path, on_bytes, max_bytes, replace)

    # A download is retried from scratch, on the gateway's one retry path.
    return await gateway.retrying(attempt, where=f"the download of {short_url(url)}")


async def _download_once(
    gateway: Gateway,
    url: str,
    path: Path,
    on_bytes: Callable[[int, int | None], None] | None,
    max_bytes: int | None,
    replace: bool,
) -> Downloaded | GatewayError:
    response = await _open(gateway, url)
    if isinstance(response, GatewayError):
        return response
    try:
        if response.status_code >= 400:
            raw = await response.aread()
            error = error_from_response(response.status_code, raw, response.headers, gateway.redact)
            error.message = f"{short_url(url)} answered HTTP {response.status_code}"
            return error
        length = response.headers.get("content-length")
        total = int(length) if length and length.isdigit() else None
        if max_bytes is not None and total is not None and total > max_bytes:
            return _too_large(gateway, url, max_bytes, f"it says {total:,} bytes")
        head = b""
        with PartFile(path) as part:
            async for chunk in response.aiter_bytes(CHUNK):
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                if max_bytes is not None and part.size + len(chunk) > max_bytes:
                    # Stopped while it streams: a gateway cannot fill the disk by
                    # leaving out Content-Length (the part file is removed).
                    return _too_large(gateway, url, max_bytes, "it sent more")
                part.write(chunk)
                if on_bytes is not None:
                    on_bytes(part.size, total)
            if total is not None and part.size != total:
                return UpstreamError(
                    f"{short_url(url)} sent {part.size} of {total} bytes", code="short_download"
                )
            final = await asyncio.to_thread(lambda: part.commit(replace=replace))
            return Downloaded(final, part.size, response.headers.get("content-type"), head)
    except httpx.HTTPError as exc:
        return gateway.translate(exc, f"the download of {short_url(url)}")
    finally:
        await response.aclose()


MAX_REDIRECTS = 10
"""Redirects a result download follows, each checked like the first link."""


async def _open(gateway: Gateway, url: str) -> httpx.Response | GatewayError:
    """GET ``url`` (streamed, without our key), following redirects to http(s) links only.

    Redirects are followed here rather than by httpx, so that each hop is checked: a
    bucket must not send the download to ``file://`` or another scheme.
    """
    where = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = await gateway.open_link(where)
        except GatewayError as error:
            return error
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response
        await response.aclose()
        try:
            where = str(response.url.join(location))
        except httpx.InvalidURL:
            where = location
        if unsafe_link(where) is not None:
            message = f"{short_url(url)} redirected to a link that is not http(s); not followed"
            return GatewayError(gateway.redact(message), code="unsafe_result_url")
    return GatewayError(  # a loop: asking again cannot help
        gateway.redact(f"{short_url(url)} redirected more than {MAX_REDIRECTS} times"),
        code="too_many_redirects",
    )


def unsafe_link(url: str) -> str | None:
    """Why a result link must not be fetched (not http(s), or no host); None when fine."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "a link without a scheme"
        return f"the result link is {shown}, not http(s); it was not fetched"
    if not parts.hostname:
        return "the result link names no host; it was not fetched"
    return None


def _too_large(gateway: Gateway, url: str, max_bytes: int, why: str) -> GatewayError:
    message = f"{short_url(url)} is larger than the {max_bytes:,}-byte cap ({why}); stopped"
    return GatewayError(gateway.redact(message), code="result_too_large")
