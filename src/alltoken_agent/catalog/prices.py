"""Model prices: what the catalog says, with the user's config overrides on top."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from alltoken_agent.config import PriceSettings
from alltoken_agent.gateway.types import Usage

_THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model in USD; None where the model is not billed that way."""

    model: str
    input_per_1k: Decimal | None = None
    """Per 1,000 prompt tokens (AllToken's unit, as in its cost comment)."""
    output_per_1k: Decimal | None = None
    """Per 1,000 completion tokens."""
    per_image: Decimal | None = None
    per_video_second: Decimal | None = None
    source: Literal["catalog", "config"] = "catalog"

    def chat_cost(self, usage: Usage) -> Decimal | None:
        """Cost of a chat request from its token counts; None without token prices."""
        if self.input_per_1k is None or self.output_per_1k is None:
            return None
        return (
            usage.prompt_tokens * self.input_per_1k + usage.completion_tokens * self.output_per_1k
        ) / _THOUSAND

    def with_overrides(self, settings: PriceSettings) -> ModelPrice:
        """This price with the config's fields replacing the catalog's."""
        changes = {k: v for k, v in settings.model_dump().items() if v is not None}
        return replace(self, source="config", **changes) if changes else self


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
