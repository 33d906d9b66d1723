"""Batched writes: sent after the delay, at once when many wait, taken by a caller, flushed."""

from __future__ import annotations

import asyncio

from quantized.coordination.batch import Batch


def test_sent_together_after_the_delay_or_at_the_limit() -> None:
    async def main() -> None:
        sent: list[dict[str, list[int]]] = []

        async def send(waiting: dict[str, list[int]]) -> None:
            sent.append(waiting)

        batch: Batch[str, int] = Batch(send, delay=0.05, limit=5)
        batch.add("a", 1)
        batch.add("b", 2)
        batch.add("a", 3)
        assert len(batch) == 3 and not sent
        await asyncio.sleep(0)
        assert not sent  # not before the delay
        deadline = asyncio.get_running_loop().time() + 2
        while not sent:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        assert sent == [{"a": [1, 3], "b": [2]}] and len(batch) == 0

        for n in range(5):  # the limit: sent without waiting for the delay
            batch.add("c", n)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert sent[1:] == [{"c": [0, 1, 2, 3, 4]}]

        batch.add("d", 7)
        batch.add("e", 8)
        assert batch.take("d") == [7] and batch.take("d") is None and len(batch) == 1
        await batch.flush()
        assert sent[2:] == [{"e": [8]}] and len(batch) == 0

    asyncio.run(main())


def test_a_failing_send_does_not_stop_later_batches() -> None:
    async def main() -> None:
        sent: list[dict[str, list[int]]] = []

        async def send(waiting: dict[str, list[int]]) -> None:
            sent.append(waiting)
            if len(sent) == 1:
                raise RuntimeError("boom")

        batch: Batch[str, int] = Batch(send, delay=0.001, limit=100)
        batch.add("a", 1)
        await batch.flush()
        batch.add("a", 2)
        await batch.flush()
        assert sent == [{"a": [1]}, {"a": [2]}]

    asyncio.run(main())
