"""Request records and simulator prices for ledger tests."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from alltoken_agent import Cost, Gateway, RequestRecord, Usage
from alltoken_agent.catalog import Catalog, ModelPrice

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
    """Every priced model of the simulator's public catalog, as the catalog layer sees it."""
    del sim  # the gateway already points at it
    entries = await Catalog(gateway, use_cache=False).entries()
    return {entry.id: entry.price for entry in entries if entry.price is not None}
