"""File links: short-lived URLs a ``<video>`` element can stream, since it cannot send a key.

``POST /v1/jobs/{id}/files/{index}/link`` (with the key) makes a token bound to that one
file of that caller's job; ``GET /media-links/{token}`` serves the file, with byte
ranges, without a key, until the token expires (``LINK_SECONDS``). A token is not
single-use: a browser plays a video with several range requests (seeking, buffering).

A token is signed, not remembered: ``job id . file index . expiry . HMAC-SHA256`` of the
owner id, job id, index and expiry, under a key every replica sharing the store reads
from it (``store/server_secrets.py``, made once per store). So a link made on one
replica opens the file on any other, and after a restart; a token changed in any part,
signed with another store's key or past its expiry (Unix time: replicas' clocks are
assumed to agree within seconds) opens nothing. The owner id is bound by the signature
but left out of the token (it is a digest of the server key; a URL should not carry
even that), so the route checks the signature against the job's owner in the journal.
A token is no key, opens nothing else, and is masked in the access log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from alltoken_agent.store.server_secrets import ServerSecrets

if TYPE_CHECKING:
    from alltoken_agent.store import Store

LINK_PATH: Final = "/media-links"
LINK_SECONDS: Final = 300.0
"""How long a link works: long enough to start a video, short enough to be worth little."""
SECRET_NAME: Final = "file_links"
"""The name of the links' signing key in the store's ``server_secrets``."""
MAX_TOKEN_LENGTH: Final = 200
"""Longer than any token made here (a 64-character job id gives about 150)."""
_DOMAIN: Final = b"alltoken-agent file link v1\x00"
"""Prefixed to what is signed, so the key signs nothing else the same way."""
_SIGNATURE_BYTES: Final = 32
_NUMBER: Final = re.compile(r"0|[1-9][0-9]{0,11}")
"""A file index or an expiry: ASCII digits, no sign, no leading zero (one token per link)."""
_IN_PATH: Final = re.compile(re.escape(LINK_PATH) + r"/[^\s?\"]+")


@dataclass(frozen=True)
class FileLink:
    """What a well-formed, unexpired token names: file ``index`` of job ``job_id``.

    Not yet proof of anything: :meth:`FileLinks.opens` checks ``signature`` against the
    owner of the job, which the token does not carry.
    """

    job_id: str
    index: int
    expires: int
    """Unix time (seconds) at which the link stops working."""
    signature: bytes = field(repr=False)


class FileLinks:
    """Makes and checks signed file links (thread-safe).

    Args:
        seconds: How long a new link works.
        secret: The signing key, or a function that reads it (called once, on first
            use; :meth:`load` lets async code call it on a thread). None: a random key
            of this process only, whose links die with it.
    """

    def __init__(
        self, seconds: float = LINK_SECONDS, *, secret: bytes | Callable[[], bytes] | None = None
    ) -> None:
        self.seconds = seconds
        self._key: bytes | None = None
        self._source: Callable[[], bytes] | None = None
        if secret is None:
            self._key = secrets.token_bytes(_SIGNATURE_BYTES)
        elif isinstance(secret, bytes):
            self._key = secret
        else:
            self._source = secret
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether the key is at hand (:meth:`load` has nothing left to do)."""
        return self._key is not None

    def load(self) -> None:
        """Read the key if not yet read (may block on the store: call it on a thread)."""
        self._secret()

    def issue(self, owner: str | None, job_id: str, index: int) -> tuple[str, float]:
        """A token for file ``index`` of ``owner``'s job, and the seconds it works for."""
        now = time.time()
        expires = int(now + self.seconds)
        signature = self._sign(owner, job_id, index, expires)
        parts = (_encode(job_id.encode("utf-8")), str(index), str(expires), _encode(signature))
        return ".".join(parts), max(0.0, expires - now)

    def resolve(self, token: str) -> FileLink | None:
        """What ``token`` names, or None when it is malformed or expired (unsigned yet)."""
        parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
        if len(parts) != 4 or not all(_NUMBER.fullmatch(part) for part in parts[1:3]):
            return None
        raw_job, signature = _decode(parts[0]), _decode(parts[3])
        if raw_job is None or signature is None or len(signature) != _SIGNATURE_BYTES:
            return None
        try:
            job_id = raw_job.decode("utf-8")
        except UnicodeDecodeError:
            return None
        expires = int(parts[2])
        if expires <= time.time():
            return None
        return FileLink(job_id, int(parts[1]), expires, signature)

    def opens(self, link: FileLink, owner: str | None) -> bool:
        """Whether ``link`` was signed by this key for ``owner``'s job (constant time)."""
        expected = self._sign(owner, link.job_id, link.index, link.expires)
        return hmac.compare_digest(link.signature, expected)

    def _sign(self, owner: str | None, job_id: str, index: int, expires: int) -> bytes:
        # JSON keeps the fields apart whatever they hold, and None apart from any text.
        fields = json.dumps([owner, job_id, index, expires], separators=(",", ":"))
        message = _DOMAIN + fields.encode("utf-8")
        return hmac.new(self._secret(), message, hashlib.sha256).digest()

    def _secret(self) -> bytes:
        key = self._key
        if key is not None:
            return key
        with self._lock:
            if self._key is None:
                assert self._source is not None
                self._key = self._source()
            return self._key


def shared_links(store: Store, seconds: float = LINK_SECONDS) -> FileLinks:
    """Links signed with ``store``'s shared key: every replica on the store accepts them."""
    return FileLinks(seconds, secret=lambda: ServerSecrets.of(store).get(SECRET_NAME))


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes | None:
    if not text or not text.isascii():
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _encode(data) == text else None  # one spelling per token


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
