"""Models, prices, rankings and health; automatic choice of a model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alltoken_agent._lazy_exports import lazy_exports

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
# The module __getattr__ this installs is invisible to type checkers, which read the
# TYPE_CHECKING imports above and so still reject unknown names.
_SOURCE = lazy_exports(globals(), _LAZY)
