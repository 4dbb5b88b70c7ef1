"""Reading one streamed chunk's payload: its JSON, and its fields masked again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_raw_decode = json.JSONDecoder().raw_decode


def loads(payload: str) -> Any:
    """``json.loads``, without its two whitespace scans when the payload is one value alone.

    Raises:
        ValueError: Not JSON, or more than one value.
    """
    try:
        value, end = _raw_decode(payload)
    except ValueError:  # whitespace first, or not JSON: json.loads decides
        return json.loads(payload)
    return value if end == len(payload) else json.loads(payload)


def masked(value: Any, known: Callable[[str], str]) -> Any:
    """A decoded field masked again: JSON escapes (``\\u0073k-...``) can hide a key."""
    return known(value) if isinstance(value, str) else value
