"""Keep API keys out of every message, repr and log line we produce.

Everything a gateway sends is masked on the way in, in the gateway layer, before
anything stores or shows it: ``inbound_hook`` cleans every response's headers and
JSON or text bodies, the stream masks each SSE payload (``Redactor.known``) and
spells-out across pieces (``TextGuard``), and ``_envelope`` masks every field of an
error envelope (``Redactor.__call__``, which also masks key-shaped tokens).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote

import httpx

from alltoken_agent.gateway._payload import loads_bytes

MASK = "***"
# Key-shaped tokens are masked even when we never saw the key itself: an upstream
# may echo a different key (a proxy's, a rotated one) in its error text. Only error
# texts, log records that are emitted and rejected input go through this, so it is
# compiled on first use (half a millisecond that a request which succeeds never needs).
_PATTERNS = (
    r"(?i)(bearer\s+)[^\s\"',;]+"
    r"|\b(sk|ak|at|th)-[A-Za-z0-9_\-]{8,}"
    r"|(api[_-]?key[\"'=:\s]+)[^\s\"',;]+"
)


@functools.cache
def _key_shapes() -> re.Pattern[str]:
    return re.compile(_PATTERNS)


HOLD_MIN = 4
"""A stream holds back a piece's ending once it spells this many leading characters of a
key; a shorter start is let through, and the rest of the key is masked when it comes."""


def _mask_match(match: re.Match[str]) -> str:
    prefix = match.group(1) or match.group(3)
    if prefix:
        return prefix + MASK
    return f"{match.group(2)}-{MASK}"


def _wire_forms(secret: str) -> set[str]:
    """The spellings a key takes in a reply: as is, JSON-escaped, percent-encoded.

    Some serialisers write ``/`` as ``\\/``; a key echoed inside a URL is percent-encoded.
    """
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe="")}
    forms |= {form.replace("/", "\\/") for form in forms}
    return forms


class Redactor:
    """Replaces known secrets and key-shaped tokens in text."""

    __slots__ = ("_bytes", "_secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        known = {s for s in secrets if s and len(s) >= 4}
        forms: set[str] = set()
        for secret in known:
            forms |= _wire_forms(secret)
        # Longest first, so a key that contains another is masked whole.
        self._secrets = tuple(sorted(forms, key=len, reverse=True))
        self._bytes = tuple(s.encode() for s in self._secrets)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every wire spelling of the known secrets, longest first."""
        return self._secrets

    def known(self, text: str) -> str:
        """Return ``text`` with the known secrets masked (one substring test each)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def known_bytes(self, data: bytes) -> bytes:
        """``known`` for a body not yet decoded (UTF-8 keys match byte for byte)."""
        for secret in self._bytes:
            if secret in data:
                data = data.replace(secret, MASK.encode())
        return data

    def in_bytes(self, data: bytes) -> bool:
        """Whether ``data`` holds any form of a known secret (UTF-8, byte for byte)."""
        return any(secret in data for secret in self._bytes)

    def scrub(self, value: Any) -> Any:
        """``value`` (decoded JSON) with the known secrets masked in every string.

        Returns the very same object when nothing was masked.
        """
        if isinstance(value, str):
            return self.known(value)
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            changed = False
            for key, item in value.items():
                clean_key, clean_item = self.scrub(key), self.scrub(item)
                changed = changed or clean_key is not key or clean_item is not item
                out[clean_key] = clean_item
            return out if changed else value
        if isinstance(value, list):
            parts = [self.scrub(item) for item in value]
            return parts if any(a is not b for a, b in zip(parts, value, strict=True)) else value
        return value

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret and key-shaped token masked."""
        return _key_shapes().sub(_mask_match, self.known(text))

    def guard(self) -> TextGuard:
        """A ``TextGuard`` for one streamed text channel."""
        return TextGuard(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secret forms>)"


class TextGuard:
    """Masks a known secret that a stream spells out across several pieces.

    It remembers the end of what it let through while that end is the start of a key
    (``sk-`` of ``sk-...``), and checks each piece together with it. A piece that
    ends in the first ``HOLD_MIN`` or more characters of a key keeps that end back
    until the next piece says whether the key goes on; a shorter start is let through,
    and the rest of the key is masked when it arrives, so the whole key is never shown.
    """

    __slots__ = ("_first_chars", "_firsts", "_held", "_secrets", "_tail")

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self._secrets = secrets
        self._firsts, self._first_chars = _starts(secrets)
        self._tail = ""
        """The longest end of what was let through that is a key's start, else ""."""
        self._held = ""

    def push(self, piece: str) -> str:
        """Return what of ``piece`` (with anything held back) can be shown now."""
        tail = self._tail
        if not tail and not self._held:
            # The common case: the piece holds no key's first character, so it can
            # neither contain a key nor end in the start of one.
            for first in self._first_chars:
                if first in piece:
                    break
            else:
                return piece
        text = self._held + piece if self._held else piece
        self._held = ""
        window = tail + text if tail else text
        for secret in self._secrets:
            if secret in window:
                text = _mask_across(tail, text, secret)
                window = tail + text
        # The longest end of the window that is a key's start (leftmost such position).
        start = len(window)
        for secret, first in self._firsts:
            at = window.find(first, max(0, len(window) - len(secret) + 1))
            while at != -1 and at < start:
                if secret.startswith(window[at:]):
                    start = at
                    break
                at = window.find(first, at + 1)
        if start == len(window):
            self._tail = ""
            return text
        if len(window) - start >= HOLD_MIN:
            cut = max(start - len(tail), 0)
            self._held, text = text[cut:], text[:cut]
            self._tail = window[start : len(tail) + cut]
        else:
            self._tail = window[start:]
        return text

    def flush(self) -> str:
        """At the end of the stream: what was held back is a key's start, so a mask."""
        held, self._held = self._held, ""
        return MASK if held else ""


@functools.lru_cache(maxsize=16)
def _starts(secrets: tuple[str, ...]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Each secret with its first character, and the first characters.

    One copy per key set: a stream makes two guards, and a server holds many streams.
    """
    return tuple((s, s[0]) for s in secrets), tuple({s[0] for s in secrets})


def _mask_across(tail: str, text: str, secret: str) -> str:
    """Mask ``secret`` in ``text``, also where it began in the ``tail`` already shown."""
    window = tail + text
    offset = len(tail)
    out: list[str] = []
    last = offset
    at = window.find(secret)
    while at != -1:
        end = at + len(secret)
        if end > offset:  # a key wholly inside the tail was masked when it was shown
            out.append(window[last : max(at, offset)])
            out.append(MASK)
            last = end
        at = window.find(secret, max(end, last))
    out.append(window[last:])
    return "".join(out)


_TEXT_TYPES = ("json", "text/", "xml", "javascript", "x-www-form-urlencoded")


def inbound_hook(redactor: Redactor, base_url: str) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook that masks the known keys in what a gateway sent.

    Every response's header values are cleaned. A reply from the gateway's own API
    (under ``base_url``) that is an error, or JSON or text but not an event stream, is
    read here and its body cleaned, so the completion, catalog and media parsers and
    the error envelope never see the key. Event streams are cleaned per payload by the
    stream; downloads from other hosts (media files) are left as sent.
    """
    prefix = base_url.rstrip("/") + "/"

    async def hook(response: httpx.Response) -> None:
        if _clean_headers(redactor, response, prefix):
            _clean_body(redactor, response, await response.aread())

    return hook


def inbound_hook_sync(redactor: Redactor, base_url: str) -> Callable[[httpx.Response], None]:
    """``inbound_hook`` for a blocking ``httpx.Client`` (the official SDK's sync client)."""
    prefix = base_url.rstrip("/") + "/"

    def hook(response: httpx.Response) -> None:
        if _clean_headers(redactor, response, prefix):
            _clean_body(redactor, response, response.read())

    return hook


def _clean_headers(redactor: Redactor, response: httpx.Response, prefix: str) -> bool:
    """Mask the keys in the headers; return whether the body should be read and masked."""
    if not redactor.secrets:
        return False
    headers = response.headers
    # One scan of all the raw values for any form of a key (joining them can only add
    # matches, never hide one); the values are decoded and masked only after a hit.
    if redactor.in_bytes(b"\n".join([value for _, value in headers.raw])):
        dirty = [name for name, value in headers.multi_items() if redactor.known(value) != value]
        for name in dict.fromkeys(dirty):
            headers[name] = ", ".join(redactor.known(v) for v in headers.get_list(name))
    kind = headers.get("content-type", "").lower()
    if "event-stream" in kind:
        return False  # the stream masks each payload itself
    if not str(response.request.url).startswith(prefix):
        return False
    return response.status_code >= 400 or any(t in kind for t in _TEXT_TYPES)


def _clean_body(redactor: Redactor, response: httpx.Response, body: bytes) -> None:
    clean = redactor.known_bytes(body)
    if b"\\u" in clean:
        # A key can hide in JSON escapes (``\\u0073k-...``): look again, decoded.
        clean = _clean_decoded(redactor, clean)
    if clean is not body:
        # httpx keeps the decoded body here; ``json()``, ``text`` and later reads all
        # take it from this attribute.
        response._content = clean


def _clean_decoded(redactor: Redactor, body: bytes) -> bytes:
    """``body`` as JSON with the keys masked in its decoded strings (as is if none)."""
    try:
        data = loads_bytes(body)  # lone surrogates as U+FFFD: the re-encoding takes them
    except ValueError:
        return body
    clean = redactor.scrub(data)
    return body if clean is data else json.dumps(clean, ensure_ascii=False).encode()


# Third-party loggers that can carry a key at DEBUG level: httpcore traces
# response headers verbatim, and a hostile upstream may echo the key there.
# A filter on a logger sees only records made by that very logger, so each
# emitting logger is listed.
_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "openai",
    "openai._base_client",
    "alltoken_agent",
)


class _LogFilter(logging.Filter):
    """Redacts every record of the listed loggers before any handler sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self._redactor = Redactor()
        self._built_for: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._built_for != self.secrets:  # a new key: build the wire forms once
            self._built_for = frozenset(self.secrets)
            self._redactor = Redactor(self._built_for)
        clean = self._redactor(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_log_filter = _LogFilter()


def protect_logs(secret: str | None) -> None:
    """Keep ``secret`` (and key-shaped tokens) out of HTTP-library log records."""
    if secret:
        _log_filter.secrets.add(secret)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _log_filter not in logger.filters:
            logger.addFilter(_log_filter)
