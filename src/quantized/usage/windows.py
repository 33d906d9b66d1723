"""Budget windows: days, weeks (from Monday) and months in the organisation's time zone,
and rolling windows of whole days.

Every amount a budget counts is kept per local day (the ledger's ``day``, in the zone
of ``QUANTIZED_TIMEZONE``), so every window is an exact sum of days: a calendar day,
week or month, or a rolling window of the last ``days`` days including today (it moves
at each local midnight, when its oldest day leaves it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month", "rolling")
MAX_ROLLING_DAYS = 92
"""The longest rolling window; spend counters are kept at least that long."""


@dataclass(frozen=True, slots=True)
class Window:
    """One occurrence of a budget's period."""

    start: dt.date
    end: dt.date
    """The last day counted (inclusive)."""
    resets_at: dt.datetime
    """When the window next changes: its end, or the next midnight for a rolling window."""
    label: str
    """Names the occurrence: ``2026-11-30``, ``2026-W49``, ``2026-11``, or the first and
    last day of a rolling window (``2026-11-24/2026-11-30``)."""
    first: str = field(init=False, repr=False, compare=False)
    last: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first", self.start.isoformat())
        object.__setattr__(self, "last", self.end.isoformat())

    def days(self) -> list[str]:
        """Every day in the window, as the ledger writes them (ISO dates)."""
        count = (self.end - self.start).days + 1
        return [(self.start + dt.timedelta(days=i)).isoformat() for i in range(count)]

    def __contains__(self, day: str) -> bool:
        return self.first <= day <= self.last


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone)


class Calendar:
    """Local days in a time zone, for a stream of current times (cheap when called often)."""

    __slots__ = ("zone", "_day", "_date", "_from", "_until", "_windows")

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone or ZoneInfo("UTC")
        self._day = ""
        self._date = dt.date(1970, 1, 1)
        self._from = 0.0
        self._until = 0.0
        self._windows: dict[tuple[str, int], Window] = {}

    def day(self, moment: float) -> str:
        """The local day of ``moment`` (seconds since the epoch), as ``YYYY-MM-DD``."""
        if not self._from <= moment < self._until:
            self._move(moment)
        return self._day

    def date(self, moment: float) -> dt.date:
        if not self._from <= moment < self._until:
            self._move(moment)
        return self._date

    def _move(self, moment: float) -> None:
        local = dt.datetime.fromtimestamp(moment, self.zone)
        day = local.date()
        self._date, self._day = day, day.isoformat()
        self._from = _midnight(day, self.zone).timestamp()
        self._until = _midnight(day + dt.timedelta(days=1), self.zone).timestamp()
        self._windows = {}

    def window(self, period: str, days: int, moment: float) -> Window:
        """The occurrence of ``period`` (``rolling``: of ``days`` days) ``moment`` is in."""
        today = self.date(moment)
        known = self._windows.get((period, days))
        if known is None:
            known = self._windows[(period, days)] = window_of(period, days, today, self.zone)
        return known


def window_of(period: str, days: int, today: dt.date, zone: ZoneInfo) -> Window:
    """The occurrence of a period that contains the local day ``today``."""
    one = dt.timedelta(days=1)
    if period == "day":
        return Window(today, today, _midnight(today + one, zone), today.isoformat())
    if period == "week":
        start = today - dt.timedelta(days=today.weekday())
        end = start + dt.timedelta(days=6)
        year, week, _ = today.isocalendar()
        return Window(start, end, _midnight(end + one, zone), f"{year}-W{week:02d}")
    if period == "month":
        start = today.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return Window(start, following - one, _midnight(following, zone), start.isoformat()[:7])
    if period == "rolling":
        if not 1 <= days <= MAX_ROLLING_DAYS:
            raise ValueError(f"a rolling window has 1 to {MAX_ROLLING_DAYS} days")
        start = today - dt.timedelta(days=days - 1)
        return Window(
            start, today, _midnight(today + one, zone), f"{start.isoformat()}/{today.isoformat()}"
        )
    raise ValueError(f"unknown period {period!r}")


def earliest_day(periods: list[tuple[str, int]], today: dt.date, zone: ZoneInfo) -> dt.date:
    """The first day any of these periods' current windows counts."""
    return min(
        (window_of(period, days, today, zone).start for period, days in periods), default=today
    )
