"""The synchroniser directly: it loads the store, applies what other processes change, and
says whether the database answers — on both backends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from quantized.auth.api_keys import key_digest
from quantized.catalog.model import Cost, Model
from quantized.runtime.state import LiveState
from quantized.runtime.sync import Synchroniser
from quantized.services import budgets, catalog, keys
from quantized.services.actors import cli_actor
from quantized.services.bootstrap import prepare
from quantized.store.database import create_engine
from tests.utils.databases import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
)
from tests.utils.network import TcpProxy


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def run(work: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(work())  # type: ignore[arg-type]


def test_load_then_apply_changes_made_elsewhere(database_url: str) -> None:
    async def work() -> None:
        engine = create_engine(database_url)
        try:
            await prepare(engine)
            state = LiveState()
            sync = Synchroniser(engine, state, interval=0.05)
            await sync.load()
            assert state.loaded and len(state.catalog) >= 40 and len(state.auth.keys) == 1

            issued = await keys.issue_key(engine, cli_actor(), keys.KeyFields("elsewhere"))
            model = Model(id="acme/new", name="New", cost=Cost(1.0, 2.0, 1.0))
            await catalog.create_model(engine, cli_actor(), model)
            await budgets.set_limits(engine, cli_actor(), "key", str(issued.key.id), 10**12, None)
            assert await sync.poll() == 3
            assert state.auth.keys.find(key_digest(issued.secret)) is not None
            found = state.catalog.get("acme/new")
            assert found is not None and found.price_id is not None  # its price history's row
            assert replace(found, price_id=None) == model
            [budget] = state.budgets.of_scope("key", str(issued.key.id))
            assert (budget.period, budget.limit_pusd, budget.hard) == ("day", 10**12, True)
            assert await sync.poll() == 0  # nothing new: nothing applied twice

            await keys.revoke_key(engine, cli_actor(), issued.key.id)
            await catalog.delete_model(engine, cli_actor(), "acme/new")
            sync.start()
            try:
                entry = lambda: state.auth.keys.find(key_digest(issued.secret))  # noqa: E731
                await until(lambda: entry() is not None and entry().revoked_at is not None)  # type: ignore[union-attr]
                await until(lambda: state.catalog.get("acme/new") is None)
            finally:
                await sync.stop()
        finally:
            await engine.dispose()

    run(work)


def test_alias_changes_reach_other_processes(database_url: str) -> None:
    async def work() -> None:
        engine = create_engine(database_url)
        try:
            await prepare(engine)
            state = LiveState()
            sync = Synchroniser(engine, state, interval=0.05)
            await sync.load()
            assert state.catalog.get("claude-haiku-4-5-20251001").id == "anthropic/claude-haiku-4.5"  # type: ignore[union-attr]
            model = Model(id="acme/aka", name="Aka", cost=Cost(1.0, 2.0, 1.0), aliases=("aka",))
            await catalog.create_model(engine, cli_actor(), model)
            assert await sync.poll() == 1
            assert replace(state.catalog.get("aka"), price_id=None) == model  # type: ignore[arg-type]
            await catalog.patch_model(engine, cli_actor(), "acme/aka", {"aliases": ["aka-2"]})
            assert await sync.poll() == 1
            assert state.catalog.get("aka") is None
            assert state.catalog.get("aka-2").id == "acme/aka"  # type: ignore[union-attr]
        finally:
            await engine.dispose()

    run(work)


def test_a_database_that_goes_away_and_comes_back() -> None:
    url = create_postgres_database()
    port = int(POSTGRES_ADMIN_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(port).start()
    proxied = f"postgresql://postgres@127.0.0.1:{proxy.port}/{url.rsplit('/', 1)[1]}"

    async def work() -> None:
        engine = create_engine(proxied, connect_timeout=1, statement_timeout=1)
        try:
            await prepare(engine)
            state = LiveState()
            sync = Synchroniser(engine, state, interval=0.05, timeout=2)
            await sync.load()
            sync.start()
            try:
                await asyncio.to_thread(proxy.freeze)
                started = time.monotonic()
                await until(lambda: not state.store_ok, timeout=10)
                assert time.monotonic() - started < 5
                await asyncio.to_thread(proxy.thaw)
                await until(lambda: state.store_ok, timeout=15)
                await asyncio.to_thread(proxy.cut)
                await until(lambda: not state.store_ok, timeout=10)
                await asyncio.to_thread(proxy.start)
                await until(lambda: state.store_ok, timeout=15)
            finally:
                await sync.stop()
        finally:
            await engine.dispose()

    try:
        run(work)
    finally:
        proxy.cut()
        drop_postgres_database(url)
