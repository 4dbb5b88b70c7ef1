"""The agent's clock tool: the current time in a named IANA time zone.

Names are only ever looked up in `zoneinfo.available_timezones()`, never passed to
`ZoneInfo` unchecked, so input such as `../etc/passwd` cannot reach the file system.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, available_timezones

from alltoken_agent.errors import ToolError

_UTC_ALIASES: Final = frozenset({"utc", "z", "gmt"})

_NOT_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})
"""Files some tz databases ship beside the zones: `localtime` mirrors the host's own zone."""

_MAX_NAME_LENGTH: Final = 64
"""Longer than any IANA name; longer input gets no suggestions, which keeps difflib cheap."""

_MAX_SUGGESTIONS: Final = 3

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
"""English names, because `strftime("%A")` follows the process locale."""

_FORM_HINT: Final = "Use an IANA name of the form Region/City, e.g. 'Europe/Paris', or 'UTC'."


class UnknownTimezoneError(ToolError, ValueError):
    """A time zone name is not in the IANA time zone database.

    A `ToolError`, so the agent hands it to the model, suggestions included, as an error
    result; also a `ValueError`, since the input is what is wrong.
    """

    def __init__(self, name: str, suggestions: tuple[str, ...] = ()) -> None:
        shown = name if len(name) <= _MAX_NAME_LENGTH else name[:_MAX_NAME_LENGTH] + "..."
        if not name.strip():
            message = f"the time zone name is empty. {_FORM_HINT}"
        elif suggestions:
            quoted = ", ".join(repr(suggestion) for suggestion in suggestions)
            message = f"{shown!r} is not an IANA time zone; did you mean {quoted}? {_FORM_HINT}"
        else:
            message = f"{shown!r} is not an IANA time zone. {_FORM_HINT}"
        super().__init__(message)
        self.name = name
        """The name as given."""
        self.suggestions = suggestions
        """Up to three valid names close to `name`, best first."""


def get_current_time(timezone: str = "UTC") -> str:
    """Get the current date and time in an IANA time zone.

    Args:
        timezone: An IANA time zone name such as "Asia/Tokyo" or "America/New_York"
            (case-insensitive), or "UTC". Defaults to UTC.

    Returns:
        The ISO 8601 local time with its UTC offset, the zone and the weekday, e.g.
        "2026-11-23T18:20:57+09:00 (Asia/Tokyo, Monday)".

    Raises:
        UnknownTimezoneError: The name is not an IANA time zone; the message suggests close
            matches.
    """
    zone = resolve_timezone(timezone)
    return format_time(datetime.now(zone), zone)


def current_time(timezone: str | None = "UTC") -> dict[str, str]:
    """The current time in an IANA time zone, in the shape of the clock tool's result.

    Args:
        timezone: An IANA time zone name (case-insensitive); empty or None means UTC.

    Returns:
        `time` (en-US local date and time, e.g. "12/6/2026, 4:05:46 PM"), `timezone` (the
        canonical IANA name), `iso` (ISO 8601 to the second, with the UTC offset) and
        `weekday` (English).

    Raises:
        UnknownTimezoneError: The name is not an IANA time zone.
    """
    zone = resolve_timezone(timezone) if timezone and timezone.strip() else ZoneInfo("UTC")
    return describe_time(datetime.now(zone), zone)


def describe_time(moment: datetime, zone: ZoneInfo) -> dict[str, str]:
    """Describe an instant in `zone` as the clock tool's result object.

    Args:
        moment: A timezone-aware datetime; it is converted to `zone`.
        zone: The zone to show the time in.

    Returns:
        The `time`, `timezone`, `iso` and `weekday` fields of `current_time`.

    Raises:
        ValueError: `moment` is naive.
    """
    if moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware; pass e.g. datetime.now(timezone.utc)")
    local = moment.astimezone(zone)
    # en-US as JavaScript's toLocaleString writes it, built by hand because strftime
    # follows the process locale and pads with zeros.
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return {
        "time": (
            f"{local.month}/{local.day}/{local.year}, "
            f"{hour}:{local.minute:02d}:{local.second:02d} {half}"
        ),
        "timezone": zone.key,
        "iso": local.isoformat(timespec="seconds"),
        "weekday": _WEEKDAYS[local.weekday()],
    }


def resolve_timezone(name: str) -> ZoneInfo:
    """Find the IANA time zone with this name, ignoring case and surrounding spaces.

    `UTC`, `Z` and `GMT` all resolve to `UTC`.

    Args:
        name: The time zone name, e.g. "asia/tokyo".

    Returns:
        The zone, under its canonical spelling (`zone.key`).

    Raises:
        UnknownTimezoneError: The name is empty or not in the time zone database.
    """
    wanted = name.strip().casefold()
    if wanted in _UTC_ALIASES:
        return ZoneInfo("UTC")
    key = _zone_keys().get(wanted)
    if key is None:
        raise UnknownTimezoneError(name, _suggestions(wanted))
    return ZoneInfo(key)


def format_time(moment: datetime, zone: ZoneInfo) -> str:
    """Describe an instant as the local time, zone and weekday in `zone`.

    Args:
        moment: Any timezone-aware datetime; it is converted to `zone`. Microseconds are
            dropped.
        zone: The zone to show the time in.

    Returns:
        The ISO 8601 local time to the second with its UTC offset, then the zone key and the
        English weekday in parentheses, e.g. "2026-11-23T18:20:57+09:00 (Asia/Tokyo, Monday)".

    Raises:
        ValueError: `moment` is naive, so the instant it denotes is unknown.
    """
    if moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware; pass e.g. datetime.now(timezone.utc)")
    local = moment.astimezone(zone)
    return f"{local.isoformat(timespec='seconds')} ({zone.key}, {_WEEKDAYS[local.weekday()]})"


@functools.cache
def _zone_keys() -> dict[str, str]:
    # available_timezones() walks the tz database on disk on every call.
    return {key.casefold(): key for key in available_timezones() - _NOT_ZONES}


def _suggestions(wanted: str) -> tuple[str, ...]:
    if not wanted or len(wanted) > _MAX_NAME_LENGTH:
        return ()
    keys = _zone_keys()
    by_city: dict[str, list[str]] = {}
    for folded, key in keys.items():
        by_city.setdefault(folded.rpartition("/")[2], []).append(key)
    # People often give only the city ("tokyo", "new york"); match that against the last
    # component first, then the whole name catches misspelt regions and cities.
    city = wanted.replace(" ", "_").rpartition("/")[2]
    import difflib  # only a wrong name needs it, not the clock tool's import

    found: list[str] = []
    for match in difflib.get_close_matches(city, by_city, n=_MAX_SUGGESTIONS):
        found.extend(sorted(by_city[match]))
    for match in difflib.get_close_matches(wanted, keys, n=_MAX_SUGGESTIONS):
        found.append(keys[match])
    return tuple(dict.fromkeys(found))[:_MAX_SUGGESTIONS]
