"""Models, prices, rankings and health; automatic choice of a model."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names load on first use (PEP 562): the agent and the budgets import ``PriceLookup``
# (``catalog.prices``), and must not pull in the disk cache, the model choice and the
# catalog service with it before ``chat`` sends its request. Type checkers read this
# block; ``_LAZY`` says the same for the interpreter.
if TYPE_CHECKING:
    from alltoken_agent.catalog.cache import CacheTTL, DiskCache, cache_key, default_cache_dir
    from alltoken_agent.catalog.choice import (
        POLICIES,
        ModelChoice,
        Policy,
        Requirements,
        blended_price,
        choose_model,
        is_auto,
        parse_policy,
        route_status,
    )
    from alltoken_agent.catalog.prices import ModelPrice, PriceLookup, price_lookup
    from alltoken_agent.catalog.service import Catalog, StaleNotice, format_age

__all__ = [
    "POLICIES",
    "CacheTTL",
    "Catalog",
    "DiskCache",
    "ModelChoice",
    "ModelPrice",
    "Policy",
    "PriceLookup",
    "Requirements",
    "StaleNotice",
    "blended_price",
    "cache_key",
    "choose_model",
    "default_cache_dir",
    "format_age",
    "is_auto",
    "parse_policy",
    "price_lookup",
    "route_status",
]

_LAZY: dict[str, tuple[str, ...]] = {
    "alltoken_agent.catalog.cache": ("CacheTTL", "DiskCache", "cache_key", "default_cache_dir"),
    "alltoken_agent.catalog.choice": (
        "POLICIES",
        "ModelChoice",
        "Policy",
        "Requirements",
        "blended_price",
        "choose_model",
        "is_auto",
        "parse_policy",
        "route_status",
    ),
    "alltoken_agent.catalog.prices": ("ModelPrice", "PriceLookup", "price_lookup"),
    "alltoken_agent.catalog.service": ("Catalog", "StaleNotice", "format_age"),
}
"""Module -> the names re-exported from it on first use."""
_SOURCE = {name: module for module, names in _LAZY.items() for name in names}

if not TYPE_CHECKING:  # a type checker would take __getattr__ to allow any name

    def __getattr__(name: str) -> Any:
        module = _SOURCE.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
