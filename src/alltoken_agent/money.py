"""Money, in one place: the price formula, prices per 1M tokens, USD for people, the tally.

Prices are kept per 1,000 tokens, AllToken's unit in its cost comment and catalog
(docs/wire-format.md §1.5); people are shown them per 1,000,000 tokens, as pricing
pages do, everywhere (CLI, TUI, server, model choice). Amounts are ``Decimal``; an
unknown price or cost stays None (shown as unknown), never 0.

A leaf like ``errors.py``: it imports nothing of ours, so every layer can use it.
"""

from __future__ import annotations

from decimal import Decimal

_THOUSAND = Decimal(1000)
"""Tokens a stored price is for; also the factor from per 1K to per 1M."""
_ZERO = Decimal(0)


def token_cost(
    prompt_tokens: int,
    completion_tokens: int,
    input_per_1k: Decimal | None,
    output_per_1k: Decimal | None,
) -> Decimal | None:
    """USD for a request's tokens: the one price formula; None without both prices.

    ``(prompt * input + completion * output) / 1000`` with prices per 1K tokens, as
    AllToken computes its cost comment (§1.5: 19 and 12 tokens at 0.0002 / 0.00125
    cost 0.0000188).
    """
    if input_per_1k is None or output_per_1k is None:
        return None
    return (prompt_tokens * input_per_1k + completion_tokens * output_per_1k) / _THOUSAND


def per_million(per_1k: Decimal | None) -> Decimal | None:
    """A price per 1K tokens as a price per 1M tokens (None stays None)."""
    return None if per_1k is None else per_1k * _THOUSAND


def format_price(amount: Decimal | None) -> str:
    """A price for people: ``$0.30``, ``$15.00``, ``$0.0375``; ``?`` when unknown."""
    if amount is None:
        return "?"
    text = f"{amount.normalize():f}"
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def price_text(input_per_1k: Decimal | None, output_per_1k: Decimal | None) -> str:
    """``$0.30 / $1.20 per 1M`` (input / output tokens), or ``price unknown``."""
    if input_per_1k is None and output_per_1k is None:
        return "price unknown"
    shown = (format_price(per_million(input_per_1k)), format_price(per_million(output_per_1k)))
    return f"{shown[0]} / {shown[1]} per 1M"


def format_usd(amount: Decimal) -> str:
    """``$5.00``, ``$0.0042``, ``$0.000019``: cents from a dollar up, six decimals below it.

    For people only; JSON and files carry the exact decimal string instead.
    """
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount == 0 or amount >= 1:
        return f"{sign}${amount.quantize(Decimal('0.01')):,}"
    rounded = amount.quantize(Decimal("0.000001"))
    text = f"{rounded if rounded else amount.normalize():f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{sign}${whole}.{fraction.ljust(2, '0')}"


class CostTally:
    """Sums USD amounts; one unknown amount makes the total unknown, never a made-up 0.

    The one tally of spend: a run's requests (``RunResult.cost``, in
    ``agent.result.reply_totals``' one pass over its replies), a server run's records
    (``request_cost``) and a batch line's records all add up here.
    """

    __slots__ = ("count", "known", "unknown")

    def __init__(self) -> None:
        self.known = _ZERO  # Decimals are immutable: one zero, not one built per tally
        """The sum of the known amounts."""
        self.unknown = 0
        """How many amounts were unknown (None)."""
        self.count = 0
        """How many amounts were added, known or not."""

    def add(self, amount: Decimal | None) -> None:
        """Count one amount (None: unknown)."""
        self.count += 1
        if amount is None:
            self.unknown += 1
        else:
            self.known += amount

    @property
    def total(self) -> Decimal | None:
        """The sum when every amount is known (0 when none was added), else None."""
        return None if self.unknown else self.known
