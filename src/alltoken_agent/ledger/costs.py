"""What a request cost: the gateway's own figure, else an estimate from prices, else unknown.

The rules, in order:

1. ``record.cost`` (AllToken's SSE cost comment, validated by the gateway client) is
   taken as it is: source ``gateway``. When the gateway sent a cost that failed that
   validation (``record.extra["cost_unknown"]``), the cost stays unknown: the gateway
   billed something we cannot read, and an estimate would pass for its figure.
2. Otherwise, with a price for the model: a chat request with usage costs
   ``ModelPrice.chat_cost(usage)``; a successful image request ``per_image`` times
   ``extra["image_count"]``; a successful video request ``per_video_second`` times
   ``extra["video_seconds"]``; a media request of a model priced per token
   ``chat_cost`` of its usage: source ``estimated``.
3. Otherwise the cost is unknown: ``None``, source ``unknown``, never a made-up zero.

A failed request with no usage is therefore unknown rather than free: these gateways
do not bill a request refused with a 4xx/5xx before any token was produced, but a
dropped or cancelled stream may have been billed for tokens nobody counted, and the
ledger cannot tell the two apart. Reports show such rows as "unknown cost", budgets
count them as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alltoken_agent.ledger.tokens import rough_token_count
from alltoken_agent.money import format_usd as format_usd
from alltoken_agent.money import token_cost

if TYPE_CHECKING:  # types only: the budget checks before a request import this module
    from alltoken_agent.catalog.prices import ModelPrice, PriceLookup
    from alltoken_agent.gateway.records import RequestRecord
    from alltoken_agent.store.usage import CostSource

__all__ = [
    "IMAGE_COUNT_KEYS",
    "VIDEO_SECONDS_KEYS",
    "ZERO",
    "estimate_request_cost",
    "format_usd",
    "record_cost",
    "rough_token_count",
    "usable_amount",
]

ZERO = Decimal(0)

IMAGE_COUNT_KEYS = ("image_count", "images", "n")
"""``RequestRecord.extra`` keys read, in order, for the number of images made."""
VIDEO_SECONDS_KEYS = ("video_seconds", "seconds", "duration")
"""``RequestRecord.extra`` keys read, in order, for the seconds of video made."""


def record_cost(
    record: RequestRecord, prices: PriceLookup | None
) -> tuple[Decimal | None, CostSource]:
    """The cost of one request and where it came from (see the module docstring).

    Never raises: a price lookup that fails counts as no price.
    """
    if record.cost is not None:
        if usable_amount(record.cost.amount):
            return record.cost.amount, "gateway"
        return None, "unknown"  # a Cost built by hand past the gateway's checks
    if record.extra.get("cost_unknown"):
        return None, "unknown"
    price = _price_of(record.model, prices)
    if price is None:
        return None, "unknown"
    estimate = _estimate(record, price)
    return (None, "unknown") if estimate is None else (estimate, "estimated")


def usable_amount(amount: Decimal | None) -> bool:
    """Whether ``amount`` may count as money spent: a finite ``Decimal`` >= 0.

    Sums (spend totals, reports, budgets) skip anything else as unknown, so a negative
    cost (stored by an older version, or built by hand) never lowers a spend.
    """
    return isinstance(amount, Decimal) and amount.is_finite() and amount >= 0


def estimate_request_cost(
    price: ModelPrice | None, prompt_tokens_estimate: int, max_tokens: int | None
) -> Decimal:
    """The most a chat request should cost, for a budget check before it is sent.

    Prompt tokens at the input price plus ``max_tokens`` at the output price. With no
    ``max_tokens`` only the prompt is counted (a lower bound), and with no token
    prices the estimate is 0: an unknown price never blocks a request by itself.
    """
    if price is None:
        return ZERO
    prompt = max(prompt_tokens_estimate, 0)
    completion = max(max_tokens or 0, 0)
    cost = token_cost(prompt, completion, price.input_per_1k, price.output_per_1k)
    return ZERO if cost is None else cost


def _price_of(model: str | None, prices: PriceLookup | None) -> ModelPrice | None:
    if model is None or prices is None:
        return None
    try:
        return prices(model)
    except Exception:  # a broken lookup must not cost us the record
        return None


def _estimate(record: RequestRecord, price: ModelPrice) -> Decimal | None:
    if record.kind == "chat":
        return None if record.usage is None else price.chat_cost(record.usage)
    if record.outcome != "ok":
        return None
    if record.kind == "image" and price.per_image is not None:
        count = _number(record.extra, IMAGE_COUNT_KEYS)
        return None if count is None else price.per_image * count
    if record.kind == "video" and price.per_video_second is not None:
        seconds = _number(record.extra, VIDEO_SECONDS_KEYS)
        return None if seconds is None else price.per_video_second * seconds
    # A media model the catalog prices by tokens (image input/output tokens, video
    # completion tokens) costs what its usage says, as a chat request would.
    return None if record.usage is None else price.chat_cost(record.usage)


def _number(extra: Mapping[str, Any], keys: tuple[str, ...]) -> Decimal | None:
    for key in keys:
        value = extra.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            continue
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            continue
        if number.is_finite() and number >= 0:
            return number
    return None
