"""Usage and cost of a reply: the values, and their validation on the way in.

Usage and cost are validated here (docs/wire-format.md §1.4, §1.5): a token count
must be an integer from 0 to ``MAX_TOKEN_COUNT``, a cost a finite decimal from 0 up
to a bound (``[ledger] max_request_cost_usd``, default ``DEFAULT_MAX_REQUEST_COST``).
Anything else makes the usage or the cost unknown (None), never 0 and never the value
as sent, and the reason is kept as an :class:`AccountingNotice` on the ``ChatResult``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from alltoken_agent._frozen import FrozenValue

if TYPE_CHECKING:
    from alltoken_agent.gateway.types import ChatResult

MAX_TOKEN_COUNT = 2**31 - 1
"""Largest token count taken from a gateway (the ledger's integer columns hold no more)."""

DEFAULT_MAX_REQUEST_COST = Decimal(100)
"""USD; a gateway-reported cost above it is taken as wrong (``[ledger] max_request_cost_usd``)."""

AccountingCode = Literal["usage_missing", "usage_invalid", "cost_invalid"]


@dataclass(init=False, eq=False, repr=False)
class AccountingNotice(FrozenValue):
    """Why a reply's usage or cost is unknown: what the gateway sent (or did not), in words.

    The message never quotes the gateway's value: it is hostile bytes, and may be huge.
    """

    code: AccountingCode
    """``usage_missing``: the stream ended after its finish without usage and ``[DONE]``;
    ``usage_invalid``: a token count was not an integer from 0 to ``MAX_TOKEN_COUNT``;
    ``cost_invalid``: the cost comment's cost was not a finite decimal within bounds."""
    message: str

    def __init__(self, code: AccountingCode, message: str) -> None:
        self.__dict__.update(code=code, message=message)


# The patterns here are compiled on first use, by re's own cache: not at import.
_DECIMAL_TEXT = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
"""A decimal amount as text: digits, an optional fraction and exponent."""


class _Invalid(ValueError):
    """A usage or cost value that fails validation (internal to this module)."""


@dataclass(init=False, eq=False, repr=False)
class Usage(FrozenValue):
    """Token counts of one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    """Part of ``completion_tokens`` spent on reasoning."""
    cached_tokens: int = 0
    """Part of ``prompt_tokens`` served from the prompt cache."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The usage object as the gateway sent it."""
    cache_creation_tokens: int | None = None
    """Part of ``prompt_tokens`` written to the prompt cache
    (``prompt_tokens_details.cache_creation_input_tokens``, docs/wire-format.md §1.4);
    None when the gateway did not say, which is not the same as 0."""

    def __init__(
        self,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        total_tokens: int = 0,
        reasoning_tokens: int = 0,
        cached_tokens: int = 0,
        raw: Mapping[str, Any] | None = None,
        cache_creation_tokens: int | None = None,
    ) -> None:
        self.__dict__.update(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            reasoning_tokens=reasoning_tokens,
            cached_tokens=cached_tokens,
            raw={} if raw is None else raw,
            cache_creation_tokens=cache_creation_tokens,
        )

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Usage | None:
        """Parse an OpenAI-style usage object; None when it holds no counts or an invalid one.

        A missing count is taken as 0 (gateways leave out the parts they do not
        bill); a count that is present must be an integer from 0 to
        ``MAX_TOKEN_COUNT`` (see :func:`parse_usage` for the reason when it is not).
        """
        return parse_usage(data)[0]

    def to_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict; ``cache_creation_tokens`` only when known."""
        counts = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
        }
        if self.cache_creation_tokens is not None:
            counts["cache_creation_tokens"] = self.cache_creation_tokens
        return counts


@dataclass(init=False, eq=False, repr=False)
class Cost(FrozenValue):
    """What a request cost, as the gateway reported it (AllToken's SSE cost comment)."""

    amount: Decimal
    """USD."""
    input_price: Decimal | None = None
    """USD per 1,000 prompt tokens."""
    output_price: Decimal | None = None
    """USD per 1,000 completion tokens."""
    source: Literal["gateway", "estimated"] = "gateway"

    def __init__(
        self,
        amount: Decimal,
        input_price: Decimal | None = None,
        output_price: Decimal | None = None,
        source: Literal["gateway", "estimated"] = "gateway",
    ) -> None:
        self.__dict__.update(
            amount=amount, input_price=input_price, output_price=output_price, source=source
        )

    @classmethod
    def from_comment(
        cls, data: Mapping[str, Any], max_amount: Decimal = DEFAULT_MAX_REQUEST_COST
    ) -> Cost | None:
        """Parse the cost comment; None when it holds no valid ``cost`` (see :func:`parse_cost`)."""
        return parse_cost(data, max_amount)[0]

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready dict; money stays a decimal string so no digit is lost."""
        return {
            "cost": str(self.amount),
            "currency": "USD",
            "input_price": None if self.input_price is None else str(self.input_price),
            "output_price": None if self.output_price is None else str(self.output_price),
            "source": self.source,
        }


USAGE_MISSING = AccountingNotice(
    "usage_missing",
    "the reply ended without its usage and [DONE]: its tokens and cost are unknown "
    "(the text is complete)",
)

COST_UNREADABLE = AccountingNotice(
    "cost_invalid",
    "the gateway sent a cost comment that is not valid JSON: this reply's cost is "
    "recorded as unknown",
)


def parse_usage(data: object) -> tuple[Usage | None, AccountingNotice | None]:
    """The usage object as a ``Usage``, or None and why (never a made-up 0, never as sent)."""
    try:
        if not isinstance(data, Mapping):
            raise _Invalid(f"usage is {_kind(data)}, not an object")
        prompt_details = _object(data, "prompt_tokens_details")
        completion_details = _object(data, "completion_tokens_details")
        prompt = _count(data, "prompt_tokens")
        completion = _count(data, "completion_tokens")
        total = _count(data, "total_tokens")
        cached = _count(prompt_details, "cached_tokens", "prompt_tokens_details.")
        created = _count(prompt_details, "cache_creation_input_tokens", "prompt_tokens_details.")
        if created is None:  # the Anthropic-style top-level name
            created = _count(data, "cache_creation_input_tokens")
        reasoning = _count(completion_details, "reasoning_tokens", "completion_tokens_details.")
        if not cached:
            cached = _count(data, "cache_read_input_tokens") or cached
        if prompt is None and completion is None and total is None:
            raise _Invalid("it holds no token counts")
    except _Invalid as problem:
        return None, AccountingNotice(
            "usage_invalid",
            f"the gateway sent an invalid usage ({problem}): this reply's tokens are "
            "recorded as unknown",
        )
    prompt, completion = prompt or 0, completion or 0
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total or prompt + completion,
        reasoning_tokens=reasoning or 0,
        cached_tokens=cached or 0,
        raw=dict(data),
        cache_creation_tokens=created,
    )
    return usage, None


_SERVICE_TIER = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"


def parse_service_tier(value: object) -> str | None:
    """The reply's ``service_tier`` when it is a short word, else None (hostile bytes)."""
    if isinstance(value, str) and re.fullmatch(_SERVICE_TIER, value):
        return value
    return None


def parse_cost(
    data: Mapping[str, Any], max_amount: Decimal = DEFAULT_MAX_REQUEST_COST
) -> tuple[Cost | None, AccountingNotice | None]:
    """The cost comment as a ``Cost``, or None and why.

    A comment without a ``cost`` key is not a cost comment: (None, None). A ``cost``
    that is not a finite decimal from 0 to ``max_amount`` USD (null, a bool, NaN,
    Infinity, a negative or huge number, text such as "lots") is invalid. Prices that
    are not finite non-negative decimals are dropped (they are only informative).
    """
    if "cost" not in data:
        return None, None
    try:
        amount = _money(data.get("cost"), "cost")
        if amount > max_amount:
            raise _Invalid(
                f"cost is above {max_amount:f} USD, the most one request may cost "
                "([ledger] max_request_cost_usd)"
            )
    except _Invalid as problem:
        return None, AccountingNotice(
            "cost_invalid",
            f"the gateway sent an invalid cost ({problem}): this reply's cost is recorded "
            "as unknown",
        )
    cost = Cost(
        amount=amount,
        input_price=_price(data.get("input_price")),
        output_price=_price(data.get("output_price")),
    )
    return cost, None


def accounting_extra(result: ChatResult) -> dict[str, str]:
    """The ``RequestRecord.extra`` fields naming why usage or cost is unknown.

    ``usage_unknown`` / ``cost_unknown`` hold the notice code (never the gateway's value);
    the ledger reads ``cost_unknown`` to leave an invalid cost unknown rather than estimate it.
    """
    extra: dict[str, str] = {}
    for notice in result.notices:
        key = "cost_unknown" if notice.code == "cost_invalid" else "usage_unknown"
        extra[key] = notice.code
    return extra


def read_huge_ints(payload: str) -> Any:
    """JSON read again with integers too long for Python as NaN; None when it is not JSON.

    ``json.loads`` refuses an integer of over 4300 digits with a ``ValueError``, as it
    does text that is not JSON. Such a number is no count or index: as NaN, the usage
    checks make it unknown instead of the whole reply failing. Call it only after the
    plain parse failed, so normal replies pay nothing.
    """
    try:
        return json.loads(payload, parse_int=_bounded_int)
    except ValueError:
        return None


def _bounded_int(text: str) -> int | float:
    return int(text) if len(text) <= _MAX_INT_DIGITS else math.nan


_MAX_INT_DIGITS = 4000


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Invalid(f"{key} is not an object")
    return value


def _count(data: Mapping[str, Any], key: str, prefix: str = "") -> int | None:
    """A token count when present; ``_Invalid`` unless an int from 0 to MAX_TOKEN_COUNT."""
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(f"{prefix}{key} is {_kind(value)}, not a whole number")
    if not 0 <= value <= MAX_TOKEN_COUNT:
        raise _Invalid(f"{prefix}{key} is out of range (0 to {MAX_TOKEN_COUNT})")
    return value


def _money(value: object, name: str) -> Decimal:
    """A finite decimal >= 0 from a string or a JSON number; ``_Invalid`` otherwise."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(f"{name} is {_kind(value)}, not a decimal")
    if isinstance(value, str) and len(value) > 100:
        raise _Invalid(f"{name} is text too long to be an amount")
    text = value.strip() if isinstance(value, str) else str(value)
    # Decimal() also reads "1_000", "NaN" and "Infinity"; a wire amount is plain digits.
    if isinstance(value, str) and not re.fullmatch(_DECIMAL_TEXT, text):
        raise _Invalid(f"{name} is text that is not a decimal number")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _Invalid(f"{name} is not a decimal number") from None
    if not amount.is_finite():
        raise _Invalid(f"{name} is not finite")
    if amount < 0:
        raise _Invalid(f"{name} is negative")
    return abs(amount) if amount == 0 else amount  # "-0" is 0, not a negative zero


def _price(value: object) -> Decimal | None:
    try:
        return None if value is None else _money(value, "price")
    except _Invalid:
        return None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a decimal number" if math.isfinite(value) else "not finite"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int):
        return "a number"
    return "an object" if isinstance(value, Mapping) else "an array or other value"
