"""A running server's moving parts, created by the app factory and started by its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.gateway.http import UpstreamClient
from quantized.gateway.router import Router
from quantized.runtime.state import LiveState
from quantized.runtime.sync import Synchroniser
from quantized.settings import Settings
from quantized.store import usage as usage_store
from quantized.store.database import create_engine
from quantized.usage.ledger import Ledger, UsageRecord

log = logging.getLogger("quantized")


class Runtime:
    """Owns the database engine, shared clients, the live state and the synchroniser."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = LiveState()
        self.jwt_issuers = settings.jwt_issuers()  # configuration errors surface here, early
        self._engine: AsyncEngine | None = None
        self._sync: Synchroniser | None = None
        self._ledger: Ledger | None = None
        self.client = UpstreamClient(
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_timeout,
        )
        self.router = Router(self.client, settings.upstream_secret)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the runtime has not been started")
        return self._engine

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        settings = self.settings
        async with contextlib.AsyncExitStack() as stack:
            self._engine = create_engine(settings.database_url)
            stack.push_async_callback(self._engine.dispose)
            sync = self._sync = Synchroniser(self._engine, self.state, settings.refresh_interval)
            await sync.load()
            sync.start()
            stack.push_async_callback(sync.stop)
            self._report_missing_credentials()
            stack.callback(self.client.close)
            ledger = self._ledger = Ledger(
                self._write_usage,
                capacity=settings.usage_buffer,
                on_written=self.state.spend.written,
            )
            ledger.start()
            stack.push_async_callback(ledger.close)  # runs before the engine is disposed
            if self.jwt_issuers:
                await self._start_jwt(stack)
            yield self
        self._engine = None
        self._sync = None
        self._ledger = None

    def record(self, record: UsageRecord) -> None:
        """Hand a usage record to the ledger (written in the background)."""
        self.state.spend.recorded(record)
        if self._ledger is not None:
            self._ledger.record(record)

    async def _write_usage(self, records: Sequence[UsageRecord]) -> None:
        async with self.engine.begin() as conn:
            await usage_store.insert_records(conn, records)

    def _report_missing_credentials(self) -> None:
        needed: dict[str, int] = {}
        for model in self.state.catalog.active:
            for upstream in model.upstreams:
                if upstream.api_key_env:
                    needed[upstream.api_key_env] = needed.get(upstream.api_key_env, 0) + 1
        missing = {
            name: count
            for name, count in needed.items()
            if self.settings.upstream_secret(name) is None
        }
        if missing:
            log.warning(
                "provider keys not set (their models answer 503 until they are): %s",
                ", ".join(f"{name} ({count} models)" for name, count in sorted(missing.items())),
            )

    async def refresh(self) -> None:
        """Apply recorded changes now (after this process wrote some), not at the next poll."""
        if self._sync is not None:
            await self._sync.poll()

    async def _start_jwt(self, stack: contextlib.AsyncExitStack) -> None:
        import httpx

        from quantized.auth.jwt.verifier import build_verifier

        settings = self.settings
        client = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=True)
        stack.push_async_callback(client.aclose)
        verifier = build_verifier(
            self.jwt_issuers,
            settings.jwt_claim_rules(),
            client,
            ttl=settings.jwt_jwks_ttl,
            refetch_interval=settings.jwt_jwks_refetch_interval,
            cache_size=settings.jwt_cache_size,
        )
        await verifier.start()
        stack.push_async_callback(verifier.stop)
        self.state.jwt = verifier
        log.info("accepting JWTs from %s", ", ".join(i.label for i in self.jwt_issuers))
