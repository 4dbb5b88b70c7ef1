"""Models, prices, rankings and health; automatic choice of a model."""

from __future__ import annotations

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
