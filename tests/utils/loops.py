"""Run a coroutine on a fresh event loop of either kind the gateway may use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")
LOOPS = ("asyncio", "uvloop")
"""The standard library's loop (tests, CLI) and uvloop (``quantized serve``)."""

Runner = Callable[[Coroutine[Any, Any, T]], T]


def run_on(loop: str, main: Coroutine[Any, Any, T]) -> T:
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def until(probe: Callable[[], object], timeout: float = 5.0) -> None:
    """Yield to the loop until ``probe()`` is truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not probe():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.005)
