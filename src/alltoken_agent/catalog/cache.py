"""A small JSON disk cache for catalog answers: time-to-live, atomic writes, stale reads.

One file per (provider, base URL, endpoint) under ``app_dirs().cache / "catalog"``. Files
hold what the gateway sent (never a key), so they are parsed again on read. A file that
cannot be read or parsed is ignored, never fatal: the cache only saves requests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alltoken_agent.paths import app_dirs

logger = logging.getLogger("alltoken_agent")

CATALOG = "catalog"
"""The endpoint part of the public catalog's cache key (``catalog/lengths.py`` reads it)."""
_FORMAT = 1
"""Bumped when the file layout changes; other versions are ignored."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class CacheTTL:
    """Seconds each kind of answer stays fresh."""

    catalog: float = 3600.0
    """Public catalog (prices, capabilities) and single-model details."""
    rankings: float = 3600.0
    health: float = 60.0
    """Health summary and per-route health."""
    models: float = 600.0
    """``GET /models``."""
    providers: float = 3600.0


@dataclass(frozen=True)
class CachedValue:
    """One cache file's content."""

    data: Any
    """The gateway's answer as it was stored."""
    saved_at: float
    """Unix time of the write."""
    simulated: bool = False
    """The simulator gave the answer: whoever shows the copy must say so (a file
    written before this was recorded reads as False)."""


def default_cache_dir() -> Path:
    """``app_dirs().cache / "catalog"`` (honours ``ALLTOKEN_AGENT_HOME``)."""
    return app_dirs().cache / "catalog"


def cache_key(provider: str, base_url: str, endpoint: str) -> str:
    """A file-name-safe key: provider name, a hash of the base URL, the endpoint."""
    digest = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]
    return "-".join(_UNSAFE.sub("_", part) for part in (provider, digest, endpoint))


class DiskCache:
    """JSON files in one folder, written atomically (temp file + rename)."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        """Use ``directory`` (created on the first write); ``clock`` gives Unix time."""
        self.directory = directory
        self.clock = clock

    def path(self, key: str) -> Path:
        """The file of ``key``."""
        return self.directory / f"{key}.json"

    def read(self, key: str) -> CachedValue | None:
        """The stored value, or None when there is none or the file is unusable."""
        path = self.path(key)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.debug("ignoring unreadable cache file %s: %s", path, exc)
            return None
        if (
            not isinstance(content, dict)
            or content.get("format") != _FORMAT
            or not isinstance(content.get("saved_at"), (int, float))
            or "data" not in content
        ):
            logger.debug("ignoring cache file %s of an unknown layout", path)
            return None
        return CachedValue(
            data=content["data"],
            saved_at=float(content["saved_at"]),
            simulated=content.get("simulated") is True,
        )

    def age(self, value: CachedValue) -> float:
        """Seconds since ``value`` was written (0 for a clock that went backwards)."""
        return max(0.0, self.clock() - value.saved_at)

    def write(self, key: str, data: Any, *, simulated: bool = False) -> None:
        """Store ``data`` under ``key``; a failure to write is logged, not raised.

        ``simulated``: the simulator gave it, kept with it so that a later read is not
        taken for the real gateway's answer.
        """
        path = self.path(key)
        content: dict[str, Any] = {"format": _FORMAT, "saved_at": self.clock(), "data": data}
        if simulated:
            content["simulated"] = True
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    json.dump(content, file, ensure_ascii=False, separators=(",", ":"))
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except (OSError, TypeError, ValueError) as exc:
            logger.debug("could not write cache file %s: %s", path, exc)
