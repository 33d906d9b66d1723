"""Request bodies: read within the size limit, and within the bytes the process may hold."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from quantized.api.bodies import BodyBudget, ClientGone, read_body
from quantized.errors import PayloadTooLargeError, ServiceUnavailableError


def chunks(*parts: bytes, gone: bool = False) -> Callable[[], Awaitable[dict[str, Any]]]:
    """An ASGI ``receive`` handing out ``parts`` (then a disconnect, with ``gone``)."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1 or gone}
        for i, part in enumerate(parts)
    ]
    if gone:
        messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


@pytest.mark.parametrize("declared", [None, 11])
def test_a_body_is_read_whole_and_its_share_given_back(declared: int | None) -> None:
    async def main() -> None:
        budget = BodyBudget(100)
        body = await read_body(chunks(b"hello", b" world"), 50, declared=declared, budget=budget)
        assert bytes(body.data) == b"hello world" and budget.free == 89
        body.release()
        assert budget.free == 100

    asyncio.run(main())


@pytest.mark.parametrize("declared", [None, 1000])
def test_over_the_limit_is_413_and_gives_its_share_back(declared: int | None) -> None:
    async def main() -> None:
        budget = BodyBudget(10_000)
        with pytest.raises(PayloadTooLargeError):
            await read_body(chunks(b"x" * 60, b"x" * 60), 100, declared=declared, budget=budget)
        assert budget.free == 10_000

    asyncio.run(main())


def test_a_client_that_leaves_gives_its_share_back() -> None:
    async def main() -> None:
        budget = BodyBudget(100)
        with pytest.raises(ClientGone):
            await read_body(chunks(b"abc", gone=True), 50, budget=budget)
        assert budget.free == 100

    asyncio.run(main())


def test_bodies_wait_for_room_in_order_and_time_out_with_503() -> None:
    async def main() -> None:
        budget = BodyBudget(100, wait=0.3)
        first = await read_body(chunks(b"x" * 80), 100, declared=80, budget=budget)
        waiting = asyncio.ensure_future(
            read_body(chunks(b"y" * 50), 100, declared=50, budget=budget)
        )
        await asyncio.sleep(0.05)
        assert not waiting.done()  # no room yet: it waits (its socket is not read)
        first.release()
        second = await waiting
        assert bytes(second.data) == b"y" * 50 and budget.free == 50
        with pytest.raises(ServiceUnavailableError) as caught:
            await read_body(chunks(b"z" * 60), 100, declared=60, budget=budget)
        assert caught.value.code == "server_busy" and caught.value.retry_after == 1
        second.release()
        assert budget.free == 100

    asyncio.run(main())
