"""Model prices: what the catalog says, with the user's config overrides on top."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from alltoken_agent.gateway.types import ModelPrice

if TYPE_CHECKING:  # a pydantic model: annotations only (a plain chat reads no pydantic)
    from alltoken_agent.config import PriceSettings

__all__ = ["ModelPrice", "PriceLookup", "price_lookup"]


PriceLookup = Callable[[str], "ModelPrice | None"]
"""Gives a model's price, or None when unknown (the ledger then records no cost)."""


def price_lookup(
    catalog_prices: Mapping[str, ModelPrice], overrides: Mapping[str, PriceSettings]
) -> PriceLookup:
    """A lookup over catalog prices with config overrides (which also price unknown models)."""

    def lookup(model: str) -> ModelPrice | None:
        bare = model.rsplit("/", 1)[-1]
        base = catalog_prices.get(model) or catalog_prices.get(bare)
        override = overrides.get(model) or overrides.get(bare)
        if override is None:
            return base
        return (base or ModelPrice(model=model)).with_overrides(override)

    return lookup
