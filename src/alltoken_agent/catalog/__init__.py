"""Models, prices, rankings and health; automatic choice of a model."""

from __future__ import annotations

from alltoken_agent.catalog.prices import ModelPrice, PriceLookup, price_lookup

__all__ = ["ModelPrice", "PriceLookup", "price_lookup"]
