"""The one signal authentication may send instead of an answer."""

from __future__ import annotations

from typing import Protocol


class Refetchable(Protocol):
    async def refetch(self) -> None: ...


class RefreshRequired(Exception):  # noqa: N818 - a signal, not an error
    """The credential names signing keys not seen yet; fetch them, then authenticate again.

    Raised only where an answer would otherwise need I/O, so synchronous callers (the
    HTTP fast path) can hand the request to the asynchronous path.
    """

    def __init__(self, source: Refetchable) -> None:
        super().__init__("signing keys need a refresh")
        self.source = source
