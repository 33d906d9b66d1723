"""A running server's moving parts, created by the app factory and started by its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.runtime.state import LiveState
from quantized.runtime.sync import Synchroniser
from quantized.settings import Settings
from quantized.store.database import create_engine

log = logging.getLogger("quantized")


class Runtime:
    """Owns the database engine, the live state and the synchroniser of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = LiveState()
        self._engine: AsyncEngine | None = None
        self._sync: Synchroniser | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the runtime has not been started")
        return self._engine

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        self._engine = create_engine(self.settings.database_url)
        self._sync = Synchroniser(self._engine, self.state, self.settings.refresh_interval)
        try:
            await self._sync.load()
            self._sync.start()
            yield self
        finally:
            await self._sync.stop()
            await self._engine.dispose()
            self._engine = None
