"""Keep API keys out of every message, repr and log line we produce."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
# Key-shaped tokens are masked even when we never saw the key itself: an upstream
# may echo a different key (a proxy's, a rotated one) in its error text.
_PATTERNS = re.compile(
    r"(?i)(bearer\s+)[^\s\"',;]+"
    r"|\b(sk|ak|at|th)-[A-Za-z0-9_\-]{8,}"
    r"|(api[_-]?key[\"'=:\s]+)[^\s\"',;]+"
)


def _mask_match(match: re.Match[str]) -> str:
    prefix = match.group(1) or match.group(3)
    if prefix:
        return prefix + MASK
    return f"{match.group(2)}-{MASK}"


class Redactor:
    """Replaces known secrets and key-shaped tokens in text."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a key that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _PATTERNS.sub(_mask_match, text)

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"


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

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = Redactor(self.secrets)(message)
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
