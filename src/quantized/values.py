"""Rules for the values every layer checks the same way: ids and lines of text.

The HTTP models, the services shared with the CLI and the OpenAPI document use
these constants, so a value one of them accepts is accepted by all of them.

- An **id** is written in ASCII digits, without leading zeros, from 1 to 2³¹−1:
  what every backend's integer column holds. ``²`` or ``٣`` pass ``str.isdigit()``
  and are not ids.
- A **line** of text has no control characters (C0 and DEL: PostgreSQL cannot
  store NUL, and none belongs in a name) and a bounded length.
"""

from __future__ import annotations

import datetime as dt
import re

MAX_ID = 2**31 - 1
"""The largest id the store's integer keys hold, on every backend."""

ID_DIGITS = (
    "[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
    "|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
    "|21474836[0-3][0-9]|214748364[0-6]|2147483647"
)
"""A regular expression for exactly the ids 1 to ``MAX_ID`` in canonical ASCII digits."""

LINE_CHARACTER = r"[^\x00-\x1f\x7f]"
LINE = f"^{LINE_CHARACTER}*$"
"""A line of text: no control characters (as a JSON Schema and pydantic pattern)."""
MAX_LINE = 200

_ID = re.compile(f"(?:{ID_DIGITS})")
_LINE = re.compile(f"{LINE_CHARACTER}*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_id(text: str) -> int | None:
    """``text`` as an id, if it is one."""
    return int(text) if _ID.fullmatch(text) else None


def is_line(text: str, *, limit: int = MAX_LINE) -> bool:
    return len(text) <= limit and _LINE.fullmatch(text) is not None


def shown(text: str, limit: int = 40) -> str:
    """Caller-supplied text, safe to put in a message: shortened, controls replaced."""
    return _CONTROL.sub("?", text[:limit]) + ("…" if len(text) > limit else "")


NAME = f"^{LINE_CHARACTER}*[^\\s\\x00-\\x1f\\x7f]{LINE_CHARACTER}*$"
"""A name: a line with at least one character that is not a space."""

EARLIEST = -62_135_683_200
LATEST = 253_402_387_199
"""Unix seconds around every RFC 3339 date-time (years 1 to 9999, any UTC offset)."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def rfc3339_seconds(text: str) -> float:
    """An RFC 3339 date (midnight UTC) or date-time as unix seconds; ``ValueError`` if neither."""
    try:
        if _DATE.fullmatch(text):
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        if _DATE_TIME.fullmatch(text):
            fraction = re.sub(r"\.([0-9]{1,6})[0-9]*", r".\1", text)  # Python keeps microseconds
            return dt.datetime.fromisoformat(fraction.upper().replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        pass
    raise ValueError("use unix seconds or an RFC 3339 date-time such as 2027-01-01T00:00:00Z")
