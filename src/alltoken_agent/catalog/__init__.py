"""Models, prices, rankings and health; automatic choice of a model.

``Catalog`` is public at the root (``from alltoken_agent import Catalog``); this
package's ``__all__`` lists its further names: prices, the automatic choice and the
cache's lifetimes. The root's name and a few internal ones are also loaded from here
for the package's own modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alltoken_agent._lazy_exports import lazy_exports

# Names load on first use (PEP 562): the agent and the budgets import ``PriceLookup``
# (``catalog.prices``), and must not pull in the disk cache, the model choice and the
# catalog service with it before ``chat`` sends its request. Type checkers read this
# block; ``_LAZY`` says the same for the interpreter.
if TYPE_CHECKING:
    from alltoken_agent.catalog.cache import CacheTTL
    from alltoken_agent.catalog.cache import DiskCache as DiskCache
    from alltoken_agent.catalog.cache import cache_key as cache_key
    from alltoken_agent.catalog.cache import default_cache_dir as default_cache_dir
    from alltoken_agent.catalog.choice import (
        POLICIES,
        ModelChoice,
        Policy,
        Requirements,
        choose_model,
        is_auto,
    )
    from alltoken_agent.catalog.choice import blended_price as blended_price
    from alltoken_agent.catalog.choice import parse_policy as parse_policy
    from alltoken_agent.catalog.choice import route_status as route_status
    from alltoken_agent.catalog.prices import ModelPrice, PriceLookup, price_lookup
    from alltoken_agent.catalog.service import Catalog as Catalog
    from alltoken_agent.catalog.service import StaleNotice

__all__ = [
    "POLICIES",
    "CacheTTL",
    "ModelChoice",
    "ModelPrice",
    "Policy",
    "PriceLookup",
    "Requirements",
    "StaleNotice",
    "choose_model",
    "is_auto",
    "price_lookup",
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
    "alltoken_agent.catalog.service": ("Catalog", "StaleNotice"),
}
"""Module -> the names loaded from it on first use."""
# The module __getattr__ this installs is invisible to type checkers, which read the
# TYPE_CHECKING imports above and so still reject unknown names.
_SOURCE = lazy_exports(globals(), _LAZY)
