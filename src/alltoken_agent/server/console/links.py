"""File links: short-lived URLs a ``<video>`` element can stream, since it cannot send a key.

``POST /v1/jobs/{id}/files/{index}/link`` (with the key) makes a random token bound to
that one file of that caller's job; ``GET /media-links/{token}`` serves the file, with
byte ranges, without a key, until the token expires (``LINK_SECONDS``). A token is not
single-use: a browser plays a video with several range requests (seeking, buffering).
It is no key, opens nothing else, and is masked in the access log. Tokens live in this
process's memory: a link works on the replica that made it, and none survives a restart.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

LINK_PATH: Final = "/media-links"
LINK_SECONDS: Final = 300.0
"""How long a link works: long enough to start a video, short enough to be worth little."""
MAX_LINKS: Final = 10_000
"""Live links kept at most; the oldest go first (a client asking for more is misbehaving)."""
_TOKEN_BYTES: Final = 32
_IN_PATH: Final = re.compile(re.escape(LINK_PATH) + r"/[^\s?\"]+")


@dataclass(frozen=True)
class FileLink:
    """What one token opens: one file of one owner's job, until ``expires`` (monotonic)."""

    owner: str | None
    job_id: str
    index: int
    expires: float


class FileLinks:
    """The live tokens of one server (thread-safe)."""

    def __init__(self, seconds: float = LINK_SECONDS) -> None:
        self.seconds = seconds
        self._links: OrderedDict[str, FileLink] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, owner: str | None, job_id: str, index: int) -> tuple[str, float]:
        """A new token for the file, and the seconds it works for."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            self._links[token] = FileLink(owner, job_id, index, now + self.seconds)
            while len(self._links) > MAX_LINKS:
                self._links.popitem(last=False)
        return token, self.seconds

    def resolve(self, token: str) -> FileLink | None:
        """What ``token`` opens, or None when it is unknown or expired."""
        now = time.monotonic()
        with self._lock:
            link = self._links.get(token)
            if link is not None and link.expires <= now:
                del self._links[token]
                return None
            return link

    def _prune(self, now: float) -> None:
        expired = [token for token, link in self._links.items() if link.expires <= now]
        for token in expired:
            del self._links[token]


class MaskLinks(logging.Filter):
    """Masks link tokens in log records (uvicorn's access log prints every path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drops it."""
        if isinstance(record.args, tuple):
            record.args = tuple(_mask(arg) for arg in record.args)
        if isinstance(record.msg, str) and LINK_PATH in record.msg:
            record.msg = _mask(record.msg)
        return True


def _mask(value: object) -> object:
    if isinstance(value, str) and LINK_PATH in value:
        return _IN_PATH.sub(f"{LINK_PATH}/***", value)
    return value


_MASK = MaskLinks()


def mask_link_logs() -> None:
    """Add the mask to uvicorn's access log and the server's own, once."""
    for name in ("uvicorn.access", "uvicorn.error", "alltoken_agent"):
        logger = logging.getLogger(name)
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)
