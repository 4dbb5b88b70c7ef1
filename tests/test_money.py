"""Money in one place (`money.py`): one price formula, prices per 1M, USD for people."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alltoken_agent.gateway import Usage
from alltoken_agent.gateway.types import ModelPrice
from alltoken_agent.ledger import estimate_request_cost
from alltoken_agent.money import (
    CostTally,
    format_price,
    format_usd,
    per_million,
    price_text,
    token_cost,
)


def test_the_price_formula_matches_the_gateways_own_cost_comment() -> None:
    """docs/wire-format.md §1.5: 19 and 12 tokens at 0.0002 / 0.00125 per 1K cost 0.0000188."""
    cost = token_cost(19, 12, Decimal("0.0002"), Decimal("0.00125"))
    assert cost == Decimal("0.0000188")


def test_an_unknown_price_is_an_unknown_cost_never_zero() -> None:
    assert token_cost(19, 12, None, Decimal("0.00125")) is None
    usage = Usage(prompt_tokens=19, completion_tokens=12, total_tokens=31)
    assert ModelPrice("m", input_per_1k=Decimal("0.0002")).chat_cost(usage) is None


def test_the_ledger_and_the_catalog_price_use_the_same_formula() -> None:
    price = ModelPrice("m", input_per_1k=Decimal("0.0002"), output_per_1k=Decimal("0.00125"))
    usage = Usage(prompt_tokens=19, completion_tokens=12, total_tokens=31)
    assert price.chat_cost(usage) == estimate_request_cost(price, 19, 12) == Decimal("0.0000188")


@pytest.mark.parametrize(
    ("per_1k", "shown"),
    [
        (Decimal("0.00014"), "$0.14"),
        (Decimal("0.0025"), "$2.50"),
        (Decimal("0.015"), "$15.00"),
        (Decimal("0.01"), "$10.00"),
        (Decimal("0.0000375"), "$0.0375"),
        (None, "?"),
    ],
)
def test_prices_are_shown_per_million_tokens(per_1k: Decimal | None, shown: str) -> None:
    assert format_price(per_million(per_1k)) == shown


def test_a_price_pair_reads_the_same_in_every_front_end() -> None:
    assert price_text(Decimal("0.0003"), Decimal("0.0012")) == "$0.30 / $1.20 per 1M"
    assert price_text(Decimal("0.0003"), None) == "$0.30 / ? per 1M"
    assert price_text(None, None) == "price unknown"


def test_amounts_show_cents_from_a_dollar_and_six_decimals_below() -> None:
    assert format_usd(Decimal("5")) == "$5.00"
    assert format_usd(Decimal("0.0042")) == "$0.0042"
    assert format_usd(Decimal("0.0000188")) == "$0.000019"
    assert format_usd(Decimal("-1.5")) == "-$1.50"


def test_the_cost_tally_keeps_unknown_unknown_never_zero() -> None:
    tally = CostTally()
    assert tally.total == Decimal(0) and tally.count == 0  # nothing spent is known: 0
    tally.add(Decimal("0.25"))
    tally.add(Decimal("0.5"))
    assert tally.total == Decimal("0.75")
    tally.add(None)
    tally.add(Decimal("1"))
    # One unknown makes the sum unknown: the known part would pass for the whole.
    assert tally.total is None
    assert (tally.known, tally.unknown, tally.count) == (Decimal("1.75"), 1, 4)
