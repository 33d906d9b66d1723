"""Human durations such as ``30d`` or ``1w2d12h``."""

from __future__ import annotations

import re

from quantized.errors import InvalidRequestError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+[smhdw])+$")
_MAX_SECONDS = 100 * 365 * 86400


def parse_duration(text: str, *, param: str = "expires_in") -> float:
    """Seconds in a duration made of ``<number><unit>`` parts (units s, m, h, d, w)."""
    compact = text.strip().lower()
    if not _WHOLE.match(compact):
        raise InvalidRequestError(
            f"invalid duration {text!r}: use a number and a unit (s, m, h, d, w), e.g. 30d or 12h",
            param=param,
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0 or seconds > _MAX_SECONDS:
        raise InvalidRequestError(
            f"invalid duration {text!r}: must be more than 0s and at most 100 years", param=param
        )
    return float(seconds)
