"""Budget windows: calendar days, weeks and months in a time zone, rolling days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from quantized.usage.windows import Calendar, window_of

UTC = ZoneInfo("UTC")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30, no daylight saving
NEW_YORK = ZoneInfo("America/New_York")


def at(zone: ZoneInfo, *when: int) -> float:
    return dt.datetime(*when, tzinfo=zone).timestamp()  # type: ignore[misc]


def test_the_local_day_follows_the_zone() -> None:
    moment = at(UTC, 2026, 11, 30, 20, 0)  # 01:30 on Dec 1st in Kolkata
    assert Calendar(UTC).day(moment) == "2026-11-30"
    assert Calendar(KOLKATA).day(moment) == "2026-12-01"
    assert Calendar(NEW_YORK).day(moment) == "2026-11-30"


def test_the_calendar_follows_the_clock_both_ways() -> None:
    calendar = Calendar(KOLKATA)
    assert calendar.day(at(KOLKATA, 2026, 3, 14, 23, 59, 59)) == "2026-03-14"
    assert calendar.day(at(KOLKATA, 2026, 3, 15)) == "2026-03-15"
    assert calendar.day(at(KOLKATA, 2026, 3, 13, 12)) == "2026-03-13"
    assert calendar.day(at(KOLKATA, 2026, 3, 15, 0, 0, 1)) == "2026-03-15"


def test_month_windows_across_month_and_year_ends() -> None:
    calendar = Calendar(KOLKATA)
    # 23:00 UTC on Jan 31st is already February 1st in Kolkata
    moment = at(UTC, 2026, 1, 31, 23, 0)
    window = calendar.window("month", 0, moment)
    assert (window.start, window.end) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert window.label == "2026-02"
    assert window.resets_at == dt.datetime(2026, 3, 1, tzinfo=KOLKATA)
    assert len(window.days()) == 28
    december = window_of("month", 0, dt.date(2026, 12, 31), UTC)
    assert december.resets_at == dt.datetime(2027, 1, 1, tzinfo=UTC)
    leap = window_of("month", 0, dt.date(2028, 2, 10), UTC)
    assert leap.end == dt.date(2028, 2, 29)


def test_week_windows_start_on_monday() -> None:
    window = window_of("week", 0, dt.date(2026, 12, 31), UTC)  # a Thursday
    assert (window.start, window.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert window.label == "2026-W53"
    assert "2027-01-03" in window and "2027-01-04" not in window


def test_rolling_windows_are_the_last_days() -> None:
    window = window_of("rolling", 7, dt.date(2026, 3, 2), UTC)
    assert window.days() == [
        "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28",
        "2026-03-01", "2026-03-02",
    ]  # fmt: skip
    assert window.resets_at == dt.datetime(2026, 3, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="rolling"):
        window_of("rolling", 0, dt.date(2026, 3, 2), UTC)


def test_daylight_saving_days_reset_at_local_midnight() -> None:
    # November 1st 2026: New York falls back; the day has 25 hours
    window = Calendar(NEW_YORK).window("day", 0, at(NEW_YORK, 2026, 11, 1, 12))
    assert window.resets_at.timestamp() - at(NEW_YORK, 2026, 11, 1) == 25 * 3600
