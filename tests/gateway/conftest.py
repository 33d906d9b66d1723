"""The upstream client's tests run on both event loops the gateway may use."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest

from tests.utils.loops import LOOPS, run_on


class Run:
    def __init__(self, loop: str) -> None:
        self.loop = loop

    def __call__(self, main: Coroutine[Any, Any, Any]) -> Any:
        return run_on(self.loop, main)


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Run:
    """Run a coroutine on a fresh loop: the standard library's, then uvloop."""
    return Run(request.param)
