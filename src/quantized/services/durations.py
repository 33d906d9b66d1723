"""Human durations such as ``30d`` or ``1w2d12h`` (shared by the CLI and the admin API)."""

from __future__ import annotations

import re

from quantized.errors import InvalidRequestError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"([0-9]+)([smhdw])")
_UNIT = "[smhdwSMHDW]"
_NONZERO = "(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])"
DURATION = f"^(?:0{{1,4}}{_UNIT}){{0,4}}{_NONZERO}{_UNIT}(?:[0-9]{{1,4}}{_UNIT}){{0,4}}$"
"""``<number><unit>`` parts, numbers of at most four digits, at least one of them not zero,
at most nine parts: from one second to 1725 years."""
_WHOLE = re.compile(DURATION)


def parse_duration(text: str, *, param: str = "expires_in") -> float:
    """Seconds in a duration made of ``<number><unit>`` parts (units s, m, h, d, w)."""
    if not _WHOLE.fullmatch(text):
        raise InvalidRequestError(
            f"invalid duration {text[:40]!r}: use numbers (at most four digits) with units "
            "(s, m, h, d, w), e.g. 30d or 1w2d; more than 0s",
            param=param,
        )
    return float(sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text.lower())))
