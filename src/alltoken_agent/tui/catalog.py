"""What the model picker shows: chat models from the gateway, priced from the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alltoken_agent import Gateway, GatewayError, UserError
from alltoken_agent.catalog import Catalog
from alltoken_agent.money import format_price, per_million

_CHAT_MODALITIES = ("text", "vision", None)


@dataclass(frozen=True)
class PickerModel:
    """One row of the model picker."""

    id: str
    name: str | None = None
    """Display name, when the gateway gives one."""
    input_per_1m: Decimal | None = None
    """USD per million prompt tokens; None when unpriced."""
    output_per_1m: Decimal | None = None
    """USD per million completion tokens."""
    simulated: bool = False
    """The simulator's catalog priced it: made up, and said to be."""

    @property
    def price_text(self) -> str:
        """``$0.30 / $1.20 per 1M`` (in / out; `` (simulated)`` after it), or ``price unknown``."""
        if self.input_per_1m is None or self.output_per_1m is None:
            return "price unknown"
        text = f"{format_price(self.input_per_1m)} / {format_price(self.output_per_1m)} per 1M"
        return f"{text} (simulated)" if self.simulated else text

    def matches(self, query: str) -> bool:
        """Whether every word of ``query`` appears in the id or name (case-insensitive)."""
        haystack = f"{self.id} {self.name or ''}".lower()
        return all(word in haystack for word in query.lower().split())


async def load_models(gateway: Gateway) -> list[PickerModel]:
    """Chat models of ``gateway`` (``GET /models``), with catalog prices where known.

    Prices come from the public catalog when the provider has one; a catalog that
    fails to load only leaves the prices out.
    """
    catalog = Catalog(gateway, use_cache=False)  # the picker shows what is offered now
    # Vision models chat too; a plain OpenAI-compatible server may not say (None).
    listed = [m for m in await catalog.models() if m.modality in _CHAT_MODALITIES]
    prices: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    if gateway.provider.public_base_url is not None:
        try:
            entries = await catalog.entries()
        except (GatewayError, UserError):
            entries = []
        for entry in entries:
            if entry.price is not None:
                prices[entry.id] = (entry.price.input_per_1k, entry.price.output_per_1k)
    out = []
    for info in listed:
        inp, outp = prices.get(info.id, (None, None))
        out.append(
            PickerModel(
                id=info.id,
                name=info.display_name,
                input_per_1m=per_million(inp),
                output_per_1m=per_million(outp),
                simulated=catalog.simulated,
            )
        )
    return sorted(out, key=lambda m: m.id)
