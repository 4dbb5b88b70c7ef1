"""Request records and simulator prices for ledger tests."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx

from alltoken_agent import Cost, Gateway, RequestRecord, Usage
from alltoken_agent.catalog import ModelPrice

NOON = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def make_record(**fields: Any) -> RequestRecord:
    """A finished chat request; any field can be overridden."""
    values: dict[str, Any] = {
        "kind": "chat",
        "provider": "alltoken",
        "model": "gpt-5.4-nano",
        "started_at": NOON,
        "outcome": "ok",
        "usage": Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30),
        "cost": None,
    }
    values.update(fields)
    return RequestRecord(**values)


def gateway_cost(amount: str) -> Cost:
    """A cost as AllToken's cost comment reports it."""
    return Cost(amount=Decimal(amount))


async def simulator_prices(gateway: Gateway, sim: Any) -> dict[str, ModelPrice]:
    """Every priced model of the simulator's public catalog, as the catalog layer sees it.

    Uses ``gateway.models.catalog()`` where the gateway has it, else reads
    ``/api-account/models`` with plain httpx.
    """
    models = getattr(gateway, "models", None)
    if models is not None:
        entries = await models.catalog()
        return {entry.id: entry.price for entry in entries if entry.price is not None}
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{sim.url}/api-account/models")
    prices: dict[str, ModelPrice] = {}
    for item in response.json()["data"]:
        pricing = item["pricing"]
        prices[item["id"]] = ModelPrice(
            model=item["id"],
            input_per_1k=_decimal(pricing.get("input_price")),
            output_per_1k=_decimal(pricing.get("output_price")),
            per_image=_decimal(pricing.get("per_image")),
            per_video_second=_decimal(pricing.get("per_second")),
        )
    return prices


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
