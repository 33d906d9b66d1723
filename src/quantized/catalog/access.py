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
    ``within`` is a second set a model must also be in (a team's, when the caller's key or
    token has its own): the rule is the intersection of both.
    """

    patterns: tuple[str, ...] | None = None
    within: tuple[str, ...] | None = None
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _within: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, patterns in (("_regex", self.patterns), ("_within", self.within)):
            if patterns is not None:
                joined = "|".join(fnmatch.translate(p) for p in patterns) or "(?!)"
                object.__setattr__(self, name, re.compile(joined))

    @property
    def unrestricted(self) -> bool:
        return self.patterns is None and self.within is None

    def allows(self, model_id: str) -> bool:
        regex, within = self._regex, self._within
        return (regex is None or regex.match(model_id) is not None) and (
            within is None or within.match(model_id) is not None
        )

    def intersect(self, patterns: tuple[str, ...] | None) -> ModelAccess:
        """This rule, restricted to ``patterns`` as well (``None``: no further restriction)."""
        if patterns is None:
            return self
        if self.patterns is None:
            return ModelAccess(patterns, self.within)
        if self.within is not None:
            raise ValueError("a rule already restricted twice cannot be restricted again")
        return ModelAccess(self.patterns, patterns)


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
