"""Tests for the clock tool.

`get_current_time` reads the real clock, so its tests bracket the answer between two
readings; exact strings are pinned through `format_time` with fixed instants.
"""

from __future__ import annotations

import inspect
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alltoken_agent.agent.clock import (
    UnknownTimezoneError,
    format_time,
    get_current_time,
    resolve_timezone,
)
from alltoken_agent.errors import ToolError

UTC = timezone.utc
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ANSWER = re.compile(r"(?P<iso>\S+) \((?P<zone>[^,]+), (?P<weekday>[A-Z][a-z]+day)\)")


def _parse(answer: str) -> tuple[datetime, str, str]:
    match = ANSWER.fullmatch(answer)
    assert match, answer
    return datetime.fromisoformat(match["iso"]), match["zone"], match["weekday"]


def _now_in(zone: str) -> tuple[datetime, str, str, datetime, datetime]:
    before = datetime.now(UTC).replace(microsecond=0)
    answer = get_current_time(zone)
    after = datetime.now(UTC)
    return (*_parse(answer), before, after)


def test_default_is_utc_now() -> None:
    moment, zone, weekday, before, after = _now_in("UTC")
    assert get_current_time.__defaults__ == ("UTC",)
    assert zone == "UTC"
    assert moment.utcoffset() == timedelta(0)
    assert before <= moment <= after
    assert weekday == WEEKDAYS[moment.weekday()]


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("Asia/Tokyo", timedelta(hours=9)),
        ("Asia/Kolkata", timedelta(hours=5, minutes=30)),
        ("America/New_York", None),
        ("Europe/Berlin", None),
    ],
)
def test_valid_zone_gives_local_time_with_offset(name: str, offset: timedelta | None) -> None:
    moment, zone, weekday, before, after = _now_in(name)
    assert zone == name
    assert before <= moment <= after
    assert moment.utcoffset() == (offset or moment.astimezone(ZoneInfo(name)).utcoffset())
    assert weekday == WEEKDAYS[moment.weekday()]


@pytest.mark.parametrize("name", ["asia/tokyo", "ASIA/TOKYO", "aSiA/tOkYo", "  Asia/Tokyo\t"])
def test_names_are_case_insensitive_and_trimmed(name: str) -> None:
    assert resolve_timezone(name).key == "Asia/Tokyo"
    assert _parse(get_current_time(name))[1] == "Asia/Tokyo"


@pytest.mark.parametrize("name", ["UTC", "utc", "Z", "z", "GMT", "gmt", " Utc "])
def test_utc_aliases(name: str) -> None:
    assert resolve_timezone(name).key == "UTC"
    moment, zone, _, _, _ = _now_in(name)
    assert zone == "UTC"
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Asia/Tokio", "Asia/Tokyo"),
        ("Tokyo", "Asia/Tokyo"),
        ("new york", "America/New_York"),
        ("Europe/Pariss", "Europe/Paris"),
        ("Paris", "Europe/Paris"),
        ("Amerika/Los_Angeles", "America/Los_Angeles"),
    ],
)
def test_unknown_name_suggests_close_matches(name: str, expected: str) -> None:
    with pytest.raises(UnknownTimezoneError) as excinfo:
        get_current_time(name)
    error = excinfo.value
    assert isinstance(error, ToolError)
    assert isinstance(error, ValueError)
    assert error.name == name
    assert error.suggestions[0] == expected
    assert 1 <= len(error.suggestions) <= 3
    assert all(resolve_timezone(s).key == s for s in error.suggestions)
    message = str(error)
    assert message.startswith(f"{name!r} is not an IANA time zone; did you mean {expected!r}")
    assert "Region/City" in message


def test_unknown_name_without_close_match_gives_only_the_form() -> None:
    with pytest.raises(UnknownTimezoneError) as excinfo:
        get_current_time("Mars/Olympus_Mons")
    assert excinfo.value.suggestions == ()
    assert str(excinfo.value) == (
        "'Mars/Olympus_Mons' is not an IANA time zone. "
        "Use an IANA name of the form Region/City, e.g. 'Europe/Paris', or 'UTC'."
    )


@pytest.mark.parametrize("name", ["", "   ", "\n"])
def test_empty_name_is_rejected(name: str) -> None:
    with pytest.raises(UnknownTimezoneError) as excinfo:
        get_current_time(name)
    assert str(excinfo.value).startswith("the time zone name is empty. ")
    assert excinfo.value.suggestions == ()


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "Asia/../Asia/Tokyo",
        "Asia/Tokyo/..",
        "./UTC",
        "Asia\\Tokyo",
        "Asia/Tokyo\x00",
        "localtime",
        "~/tz",
    ],
)
def test_path_like_input_is_not_a_zone(name: str) -> None:
    with pytest.raises(UnknownTimezoneError, match="is not an IANA time zone"):
        get_current_time(name)


def test_huge_input_is_rejected_with_a_short_message() -> None:
    with pytest.raises(UnknownTimezoneError) as excinfo:
        get_current_time("Asia/Tokyo" * 10_000)
    assert excinfo.value.suggestions == ()
    assert len(str(excinfo.value)) < 200


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (
            datetime(2026, 11, 23, 9, 20, 57, tzinfo=UTC),
            "Asia/Tokyo",
            "2026-11-23T18:20:57+09:00 (Asia/Tokyo, Monday)",
        ),
        (
            datetime(2026, 11, 23, 18, 20, 57, 999_999, tzinfo=UTC),
            "UTC",
            "2026-11-23T18:20:57+00:00 (UTC, Monday)",
        ),
        # Europe/Berlin springs forward at 01:00 UTC on 29 March 2026: 02:00 CET -> 03:00 CEST.
        (
            datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
            "Europe/Berlin",
            "2026-03-29T01:59:59+01:00 (Europe/Berlin, Sunday)",
        ),
        (
            datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),
            "Europe/Berlin",
            "2026-03-29T03:00:00+02:00 (Europe/Berlin, Sunday)",
        ),
        # New York falls back at 06:00 UTC on 1 November 2026: 01:30 happens twice.
        (
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            "America/New_York",
            "2026-11-01T01:30:00-04:00 (America/New_York, Sunday)",
        ),
        (
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
            "America/New_York",
            "2026-11-01T01:30:00-05:00 (America/New_York, Sunday)",
        ),
        # Southern summer time, and a different local date from UTC's.
        (
            datetime(2026, 11, 23, 18, 20, 57, tzinfo=UTC),
            "Australia/Sydney",
            "2026-11-24T05:20:57+11:00 (Australia/Sydney, Tuesday)",
        ),
        # The input's own zone does not matter, only the instant.
        (
            datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
            "Europe/London",
            "2026-01-01T00:00:00+00:00 (Europe/London, Thursday)",
        ),
    ],
)
def test_format_time_with_fixed_instants(moment: datetime, zone: str, expected: str) -> None:
    assert format_time(moment, ZoneInfo(zone)) == expected


def test_format_time_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 11, 23, 9, 0), ZoneInfo("UTC"))


@settings(max_examples=100, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(
        ["UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
    ),
)
def test_format_time_denotes_the_same_instant(moment: datetime, zone: str) -> None:
    local, key, weekday = _parse(format_time(moment, ZoneInfo(zone)))
    assert key == zone
    assert local == moment.replace(microsecond=0)
    assert weekday == WEEKDAYS[local.weekday()]


def test_docstring_describes_the_tool() -> None:
    doc = inspect.getdoc(get_current_time) or ""
    assert doc.splitlines()[0] == "Get the current date and time in an IANA time zone."
    assert "Args:\n    timezone:" in doc
    assert list(inspect.signature(get_current_time).parameters) == ["timezone"]
