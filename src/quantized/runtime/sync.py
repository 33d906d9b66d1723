"""Keep a server's live state in step with the database, without restarts.

On start the synchroniser loads every model and key. Then, every
``refresh_interval`` seconds, it reads the change log and applies what other
processes (the CLI, other instances) wrote: a revoked key stops working and an
imported catalog is listed within one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.auth.index import KeyIndex
from quantized.auth.teams import Teams
from quantized.catalog.listing import Catalog
from quantized.runtime.state import LiveState
from quantized.store import budgets as budget_store
from quantized.store import catalog as model_store
from quantized.store import changes
from quantized.store import keys as key_store
from quantized.store import teams as team_store

log = logging.getLogger("quantized.sync")

_WHOLE_SPEND_EVERY = 60.0
"""Seconds between reads of budgets' whole windows (today's spend is read at every poll)."""

_REPLAY_WINDOW = 256
"""How many change ids behind the newest one are re-read, for out-of-order commits."""


class Synchroniser:
    def __init__(
        self, engine: AsyncEngine, state: LiveState, interval: float, timeout: float = 15.0
    ) -> None:
        self._engine = engine
        self._state = state
        self._interval = interval
        self._timeout = timeout
        """Longest a poll may take before the database counts as unreachable."""
        self._last_id = 0
        self._applied: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._spend_read_at = 0.0

    async def load(self) -> None:
        """Read everything once."""
        async with self._engine.connect() as conn:
            last_id = await changes.latest_id(conn)
            recent = await changes.since(conn, max(0, last_id - _REPLAY_WINDOW))
            models = await model_store.all_models(conn)
            keys = await key_store.all_keys(conn)
            teams = await team_store.all_teams(conn)
            budgets = await budget_store.all_budgets(conn)
            self._state.budgets.set_budgets(budgets)
            await self._read_spend(conn, whole=True)
        self._state.catalog = Catalog(models)
        self._state.auth.keys = KeyIndex(keys, Teams(teams))
        self._state.loaded = True
        self._last_id = last_id
        self._applied = {c.id for c in recent}
        log.info("loaded %d models and %d keys", len(models), len(keys))

    async def poll(self) -> int:
        """Apply changes recorded since the last poll; return how many were applied."""
        floor = max(0, self._last_id - _REPLAY_WINDOW)
        async with self._state.budgets.counting, self._engine.connect() as conn:
            pending = [c for c in await changes.since(conn, floor) if c.id not in self._applied]
            budgets_changed = any(c.entity == changes.BUDGET for c in pending)
            if budgets_changed:
                self._state.budgets.set_budgets(await budget_store.all_budgets(conn))
            # other processes' spending counts against shared budgets: today's is read at
            # every poll, whole windows now and then (and when budgets change)
            await self._read_spend(conn, whole=budgets_changed)
            if not pending:
                return 0
            model_ids = {c.entity_id for c in pending if c.entity == changes.MODEL}
            key_ids = {int(c.entity_id) for c in pending if c.entity == changes.KEY}
            teams_changed = any(c.entity == changes.TEAM for c in pending)
            models = await model_store.models_by_id(conn, model_ids) if model_ids else []
            if teams_changed:  # every key's principal may change: rebuild the index
                teams = Teams(await team_store.all_teams(conn))
                keys = await key_store.all_keys(conn)
            else:
                keys = await key_store.keys_by_id(conn, key_ids) if key_ids else []
        if model_ids:
            removed = model_ids - {m.id for m in models}
            self._state.catalog = self._state.catalog.with_changes(models, removed)
        if teams_changed:
            self._state.auth.keys = KeyIndex(keys, teams)
        else:
            index = self._state.auth.keys
            for key_id in key_ids:
                index.discard(key_id)
            for key in keys:
                index.put(key)
        self._remember(c.id for c in pending)
        log.info(
            "applied %d changes (%d models, %d keys)", len(pending), len(model_ids), len(key_ids)
        )
        return len(pending)

    async def _read_spend(self, conn: AsyncConnection, *, whole: bool) -> None:
        budgets = self._state.budgets
        if not budgets.counters:
            return
        now = time.time()
        whole = whole or now - self._spend_read_at >= _WHOLE_SPEND_EVERY
        if whole:
            since = budgets.earliest_day(now)
            self._spend_read_at = now
        else:  # yesterday too: records of a request that began before midnight
            since = budgets.calendar.window("rolling", 2, now).start.isoformat()
        spend = await budget_store.spend_since(conn, budgets.counters, since)
        budgets.set_written(spend, since_day="" if whole else since)

    def _remember(self, ids: Iterable[int]) -> None:
        self._applied.update(ids)
        self._last_id = max(self._applied, default=self._last_id)
        floor = self._last_id - _REPLAY_WINDOW
        self._applied = {i for i in self._applied if i > floor}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                async with asyncio.timeout(self._timeout):
                    await self.poll()
            except Exception as exc:  # the database may be away: keep serving from memory
                if self._state.store_ok:
                    log.warning(
                        "the database is unreachable (%s): serving from memory", type(exc).__name__
                    )
                self._state.store_ok = False
            else:
                if not self._state.store_ok:
                    log.warning("the database is reachable again")
                self._state.store_ok = True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="quantized-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
