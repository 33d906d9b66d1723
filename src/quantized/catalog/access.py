"""Which models a caller may use: one rule decides both the listing and every request."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from quantized.errors import InvalidRequestError

_PATTERN_CHARS = re.compile(r"^[a-z0-9*?\[\]!/._:-]+$")


@dataclass(frozen=True, slots=True)
class ModelAccess:
    """A set of model ids and glob patterns (``openai/*``); ``None`` means every model.

    Patterns use shell-style globbing, matched against the whole id and case-sensitively
    (ids are lowercase): ``*`` matches any run of characters, ``?`` one character.
    """

    patterns: tuple[str, ...] | None = None
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.patterns is not None:
            joined = "|".join(fnmatch.translate(p) for p in self.patterns) or "(?!)"
            object.__setattr__(self, "_regex", re.compile(joined))

    @property
    def unrestricted(self) -> bool:
        return self.patterns is None

    def allows(self, model_id: str) -> bool:
        regex = self._regex
        return regex is None or regex.match(model_id) is not None


EVERYTHING = ModelAccess()


def normalise_patterns(patterns: Iterable[str] | None) -> tuple[str, ...] | None:
    """Check patterns' syntax and put them in canonical order (sorted, unique)."""
    if patterns is None:
        return None
    cleaned: set[str] = set()
    for raw in patterns:
        pattern = raw.strip()
        if not pattern or not _PATTERN_CHARS.match(pattern) or len(pattern) > 200:
            raise InvalidRequestError(
                f"invalid model pattern {raw!r}: use a model id or a glob such as 'openai/*'",
                param="models",
            )
        cleaned.add(pattern)
    return tuple(sorted(cleaned))


def unmatched_patterns(patterns: Iterable[str], model_ids: Iterable[str]) -> list[str]:
    """The patterns that match none of ``model_ids`` (typos, unknown models)."""
    ids = list(model_ids)
    return [p for p in patterns if not any(fnmatch.fnmatchcase(i, p) for i in ids)]
