"""How a catalog entry's values are read from the gateway's JSON, and its id and window.

Apart from ``catalog_parse`` because its typed entries take about 10 ms to import
(their dataclasses), and a context-length lookup in the cached catalog needs none of
them (``catalog/lengths.py``): both read an entry's id and window with these rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def first(item: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first of ``keys`` that ``item`` has and is not null."""
    return next((item[k] for k in keys if item.get(k) is not None), None)


def text(value: Any) -> str | None:
    """A non-empty string, or a number written as one; else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def integer(value: Any) -> int | None:
    """A finite number (or its text), truncated; else None."""
    number = real(value)
    return None if number is None else int(number)


def real(value: Any) -> float | None:
    """A finite number (or its text); else None (booleans too)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def entry_id(item: Mapping[str, Any]) -> str | None:
    """A catalog entry's model id (``id``, else ``model``); None: not an entry."""
    return text(item.get("id")) or text(item.get("model"))


def context_length(item: Mapping[str, Any]) -> int | None:
    """A catalog entry's context window in tokens (``context_length`` or ``context_window``)."""
    return integer(first(item, "context_length", "context_window"))
