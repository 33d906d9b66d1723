"""Stored responses on both backends: round trip, replacement, isolation, expiry, purge, and
bodies PostgreSQL is particular about (NUL escapes, megabytes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from quantized.gateway.responses.stored import Caller, StoredResponse, ensure_ids
from quantized.services.bootstrap import prepare
from quantized.store.database import connection, create_engine
from quantized.store.responses import DatabaseResponses
from quantized.store.tables import responses
from tests.utils.stored_responses import HOUR, stored_response

ALICE: Caller = ("key", "1")
BOB: Caller = ("key", "2")
ALICE_TOKEN: Caller = ("jwt", "1")
"""A JWT subject spelled like a key id: another caller all the same."""


def run(work: Coroutine[Any, Any, None]) -> None:
    asyncio.run(work)


def stored(response_id: str, caller: Caller = ALICE, **fields: Any) -> StoredResponse:
    return stored_response(caller, response_id, **fields)


@asynccontextmanager
async def store_on(url: str, retention: float = HOUR, **options: Any) -> AsyncIterator[Any]:
    """A store on a migrated database, and its engine (disposed afterwards)."""
    engine = create_engine(url)
    try:
        await prepare(engine)
        yield DatabaseResponses(lambda: engine, retention, **options), engine
    finally:
        await engine.dispose()


async def stored_ids(engine: Any) -> list[str]:
    """Every row's id, expired or not, straight from the table."""
    async with connection(engine) as conn:
        result = await conn.execute(select(responses.c.id).order_by(responses.c.id))
        return [row.id for row in result]


async def until(probe: Callable[[], Awaitable[object]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await probe():
            await asyncio.sleep(0.02)


def test_round_trip_and_replacement(database_url: str) -> None:
    async def work() -> None:
        async with store_on(database_url) as (store, _):
            first = stored("resp_1", status="in_progress")
            await store.put(first)
            assert await store.get(ALICE, "resp_1") == first
            assert await store.get(ALICE, "resp_2") is None
            again = stored("resp_1", status="completed")
            await store.put(again)  # the same id again replaces it
            found = await store.get(ALICE, "resp_1")
            assert found == again and found.response["status"] == "completed"
            assert found.conversation() == [*again.input_items, *again.response["output"]]

    run(work())


def test_callers_never_see_each_others_responses(database_url: str) -> None:
    async def work() -> None:
        async with store_on(database_url) as (store, engine):
            await store.put(stored("resp_1", ALICE, note="alice"))
            await store.put(stored("resp_1", BOB, note="bob"))  # same id, another caller
            for caller in (BOB, ALICE_TOKEN, ("key", "10")):
                assert await store.delete(caller, "resp_2") is False
            assert await store.delete(ALICE_TOKEN, "resp_1") is False
            assert await store.get(ALICE_TOKEN, "resp_1") is None
            alice = await store.get(ALICE, "resp_1")
            bob = await store.get(BOB, "resp_1")
            assert alice is not None and alice.response["note"] == "alice"
            assert bob is not None and bob.response["note"] == "bob"
            assert await store.delete(BOB, "resp_1") is True
            assert await store.get(BOB, "resp_1") is None
            assert await store.delete(BOB, "resp_1") is False
            assert await store.get(ALICE, "resp_1") == alice
            assert await stored_ids(engine) == ["resp_1"]

    run(work())


def test_nul_characters_and_megabytes_round_trip(database_url: str) -> None:
    """A conversation may hold NUL characters (PostgreSQL's jsonb could not), any Unicode,
    and megabytes of tool output (a coding agent's session)."""
    strange = 'a\x00b \\u0000 \U0001f600 \u2028 é \x01\x7f "quoted" \\'
    big = "0123456789abcdef" * (256 * 1024)  # 4 MiB
    items = ensure_ids(
        [
            {"role": "user", "content": [{"type": "input_text", "text": strange}]},
            {"type": "function_call", "call_id": "c\x00", "name": "read", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c\x00", "output": big},
        ]
    )
    response = StoredResponse(
        id="resp_big",
        caller=ALICE,
        created_at=1.5,
        model="fake/gpt",
        response={"id": "resp_big", "output": [{"text": strange, "key\x00": [big, 2**53, 0.1]}]},
        input_items=items,
        context=[{"role": "assistant", "content": strange * 1000}],
    )

    async def work() -> None:
        async with store_on(database_url) as (store, _):
            await store.put(response)
            assert await store.get(ALICE, "resp_big") == response

    run(work())


def test_expired_responses_are_never_seen(database_url: str) -> None:
    async def work() -> None:
        async with store_on(database_url, retention=0.5) as (store, engine):
            await store.put(stored("resp_1"))
            await store.put(stored("resp_2"))
            assert await store.get(ALICE, "resp_1") is not None
            await until(lambda: _missing(store, "resp_2"))  # put last, expires last
            assert await store.get(ALICE, "resp_1") is None
            assert await store.delete(ALICE, "resp_2") is False  # expired: nothing to delete
            assert await stored_ids(engine) == ["resp_1", "resp_2"]  # until purged

    run(work())


async def _missing(store: DatabaseResponses, response_id: str) -> bool:
    return await store.get(ALICE, response_id) is None


def test_put_purges_expired_rows_at_most_once_an_interval(database_url: str) -> None:
    async def work() -> None:
        async with store_on(database_url, retention=0.3, purge_interval=HOUR) as (store, engine):
            await store.put(stored("resp_1"))  # the first put purges (nothing yet)
            await until(lambda: _missing(store, "resp_1"))
            await store.put(stored("resp_2"))  # an hour has not passed: no purge
            assert await stored_ids(engine) == ["resp_1", "resp_2"]
            eager = DatabaseResponses(lambda: engine, HOUR, purge_interval=0)
            await eager.put(stored("resp_3"))
            assert "resp_1" not in await stored_ids(engine)
            await until(lambda: _missing(store, "resp_2"))
            await eager.put(stored("resp_4"))
            assert await stored_ids(engine) == ["resp_3", "resp_4"]
            assert await eager.purge() == 0

    run(work())


def test_a_retention_of_zero_keeps_nothing(database_url: str) -> None:
    async def work() -> None:
        async with store_on(database_url, retention=0) as (store, engine):
            assert not store.keeps
            await store.put(stored("resp_1"))
            assert await store.get(ALICE, "resp_1") is None
            assert await stored_ids(engine) == []

    run(work())


def test_ensure_ids_names_items_by_type_and_keeps_given_ones() -> None:
    given = [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", "id": None},
        {"type": "function_call_output", "call_id": "c", "output": "ok"},
        {"type": "message", "role": "assistant", "content": [], "id": "msg_mine"},
        {"type": "item_reference", "id": ""},
    ]
    snapshot = [dict(item) for item in given]
    found = ensure_ids(given)
    assert given == snapshot  # the items given are not changed
    assert [item["type"] for item in found] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
        "item_reference",
    ]
    ids = [item["id"] for item in found]
    assert ids[3] == "msg_mine"
    for made, prefix in zip(
        (ids[0], ids[1], ids[2], ids[4]), ("msg_", "fc_", "fco_", "item_"), strict=True
    ):
        assert made.startswith(prefix)
        digits = made.removeprefix(prefix)
        assert len(digits) == 24 and int(digits, 16) >= 0
    assert len(set(ids)) == len(ids)
    assert {k: v for k, v in found[0].items() if k != "id"} == {"type": "message", **given[0]}
