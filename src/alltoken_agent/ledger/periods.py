"""Time spans for ledger queries: ``7d``, ``24h``, ``30m``, ``2026-11-01``, and the UTC day."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

from alltoken_agent.errors import UserError

_SPAN = re.compile(r"(\d+)\s*([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_EXAMPLES = "7d, 24h, 30m, 2w, 2026-11-01 or 2026-11-01T12:00"


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def start_of_utc_day(moment: datetime | None = None) -> datetime:
    """Midnight UTC of the day ``moment`` (default: now) falls on."""
    moment = (moment or utc_now()).astimezone(timezone.utc)
    return datetime.combine(moment.date(), time(0), tzinfo=timezone.utc)


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """Turn ``7d`` / ``24h`` / ``30m`` / ``2w`` (ago) or an ISO date or time into an aware UTC time.

    A date means its midnight UTC; a time without a zone is taken as UTC.

    Raises:
        UserError: The text is none of these, or lies in the future.
    """
    value = text.strip().lower()
    now = (now or utc_now()).astimezone(timezone.utc)
    span = _SPAN.fullmatch(value)
    if span is not None:
        amount, unit = int(span.group(1)), span.group(2)
        try:
            return now - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:  # more than timedelta holds, or before the year 1
            raise UserError(
                f"the span {text.strip()!r} reaches back before the year 1; use a shorter "
                "span or a date"
            ) from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"cannot read {text!r} as a start time; use a span or a date: {_EXAMPLES}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last day datetime holds
        raise UserError(f"the start time {text!r} is out of range; use a past date") from None
    if moment > now:
        raise UserError(f"the start time {text!r} is in the future; use a past date or a span")
    return moment
