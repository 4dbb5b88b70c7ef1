"""Model filter facets and provider stats of AllToken's public catalog (§1.6).

``GET /api-account/models/filters`` and ``GET /api-account/providers/{id}/stats`` have
no documented shape (docs/wire-format.md §1.6: "shape undocumented"), so both are
typed lightly: the parts that read as facets (a name and its values) or as flat
statistics (a name and one number or word) are kept, bounded and cleaned of control
characters (they end up on a terminal); everything stays as sent in ``raw``, which is
also what a cache stores and parses again. A ``{"data": ...}`` wrapper is optional.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alltoken_agent.gateway.catalog_parse import unwrap

MAX_FACETS = 100
"""Facets (or stats) kept from one answer; the rest stay in ``raw`` only."""
MAX_VALUES = 1000
"""Values kept per facet."""
MAX_TEXT = 200
"""Characters kept of one name or value."""

Scalar = str | int | float | bool | None
"""One statistic: a number, a word, a flag, or null (unknown)."""


@dataclass(frozen=True)
class ModelFilters:
    """The catalog's filter facets, e.g. ``brands`` -> ``("Anthropic", "OpenAI", ...)``."""

    facets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Facet name -> its values, in the gateway's order."""
    raw: Mapping[str, Any] | list[Any] = field(default_factory=dict, compare=False, repr=False)
    """The body as the gateway sent it."""

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-ready facets."""
        return {name: list(values) for name, values in self.facets.items()}

    @property
    def body(self) -> Any:
        """The answer as sent, without its optional ``{"data": ...}`` wrapper."""
        return unwrap(self.raw)


@dataclass(frozen=True)
class ProviderStats:
    """Statistics of one upstream provider (requests, error rate, latency, ...)."""

    provider: str
    """The provider id asked for (or the one the gateway named)."""
    stats: Mapping[str, Scalar] = field(default_factory=dict)
    """Flat name -> value; a nested object's fields are named ``outer.inner``."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The body as the gateway sent it."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"provider": self.provider, **self.stats}

    @property
    def body(self) -> Any:
        """The answer as sent, without its optional ``{"data": ...}`` wrapper."""
        return unwrap(self.raw)


def parse_filters(payload: Any) -> ModelFilters:
    """Read a filters body: an object of facets, or a list of ``{name, values}`` objects.

    A facet's values may be a list of words or numbers, a list of objects naming
    themselves (``id``, ``value``, ``name`` or ``label``), or an object whose keys are
    the values (``{"OpenAI": 12}``, a count per value). Other facets are left out.
    """
    data = unwrap(payload)
    pairs: list[tuple[Any, Any]] = []
    if isinstance(data, Mapping):
        pairs = list(data.items())
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping):
                name = _first(item, "name", "key", "id", "field")
                pairs.append((name, _first(item, "values", "options", "items")))
    facets: dict[str, tuple[str, ...]] = {}
    for name, value in pairs:
        text = _text(name)
        values = _values(value)
        if text is None or values is None or text in facets:
            continue
        facets[text] = values
        if len(facets) >= MAX_FACETS:
            break
    raw = payload if isinstance(payload, (Mapping, list)) else {}
    return ModelFilters(facets=facets, raw=raw)


def parse_provider_stats(provider_id: str, payload: Any) -> ProviderStats:
    """Read a provider-stats body into flat statistics (nested objects one level deep)."""
    data = unwrap(payload)
    stats: dict[str, Scalar] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            name = _text(key)
            if name is None or len(stats) >= MAX_FACETS:
                continue
            if isinstance(value, Mapping):
                for inner_key, inner in value.items():
                    inner_name = _text(inner_key)
                    if inner_name is not None and _is_scalar(inner) and len(stats) < MAX_FACETS:
                        stats[f"{name}.{inner_name}"] = _scalar(inner)
            elif _is_scalar(value):
                stats[name] = _scalar(value)
    named = stats.pop("provider", None)
    provider = named if isinstance(named, str) and named else provider_id
    raw = payload if isinstance(payload, Mapping) else {}
    return ProviderStats(provider=provider, stats=stats, raw=raw)


def _values(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, Mapping):
        items: list[Any] = list(value.keys())
    elif isinstance(value, list):
        items = [
            _first(item, "id", "value", "name", "label") if isinstance(item, Mapping) else item
            for item in value
        ]
    else:
        return None
    texts = (_text(item) for item in items[:MAX_VALUES])
    return tuple(text for text in texts if text is not None)


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    return next((item[k] for k in keys if item.get(k) is not None), None)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _scalar(value: Any) -> Scalar:
    if isinstance(value, str):
        return _text(value) or ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        # NaN or Infinity is not a statistic anyone can use.
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        # No count is that large; keep the column readable.
        return value if abs(value) < 10**18 else None
    return None


def _text(value: Any) -> str | None:
    """A name or value as clean, bounded text; None for what is not a word or number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, (str, int, float)):
        return None
    text = str(value)[:MAX_TEXT]
    # Control characters (ANSI escapes included) would reach the terminal as commands.
    cleaned = "".join(ch for ch in text if ch.isprintable())
    return cleaned or None
