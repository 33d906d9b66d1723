"""A running server's moving parts, created by the app factory and started by its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.auth.api_keys import ApiKey
from quantized.auth.lookup import KeyLookup
from quantized.gateway.client import UpstreamClient
from quantized.gateway.health import BreakerRules, Breakers
from quantized.gateway.observe import Observer, Observers
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.responses.write_behind import WriteBehind
from quantized.gateway.router import Router, RoutingRules
from quantized.gateway.worst_case import Reserve
from quantized.limits import Limits
from quantized.limits.local import LocalLimiter
from quantized.observability.metrics import Metrics, Snapshot
from quantized.observability.observers import MetricsObserver
from quantized.observability.request_log import RequestLog
from quantized.observability.tracing import tracing
from quantized.runtime.state import LiveState
from quantized.runtime.sync import Synchroniser
from quantized.settings import Settings
from quantized.store import keys as key_store
from quantized.store.alerts import DatabaseAlerts
from quantized.store.database import connection, create_engine, unavailable
from quantized.store.responses import DatabaseResponses
from quantized.store.retention import delete_expired_usage
from quantized.store.usage_writer import usage_writer
from quantized.usage.alerts import BudgetAlerts
from quantized.usage.budgets import Reservation
from quantized.usage.ledger import Ledger, UsageRecord
from quantized.usage.retention import Retention
from quantized.usage.windows import Calendar

if TYPE_CHECKING:
    from quantized.coordination.notices import ChangeNotices
    from quantized.coordination.redis import RedisLink

log = logging.getLogger("quantized")
DAY = 86400.0


class Runtime:
    """Owns the database engine, shared clients, the live state and the background work."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = LiveState()
        self.state.budgets.calendar = Calendar(settings.zone)
        self.alerts = BudgetAlerts(
            DatabaseAlerts(lambda: self.engine),
            webhook_url=settings.alert_webhook_url,
            secret=settings.alert_webhook_secret,
            attempts=settings.alert_webhook_attempts,
            timeout=settings.alert_webhook_timeout,
        )
        """Budget alerts: logged, stored once per window, sent to the webhook."""
        self.state.budgets.alerts = self.alerts
        self.jwt_issuers = settings.jwt_issuers()  # configuration errors surface here, early
        self.client = UpstreamClient(
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_timeout,
            max_connections_per_origin=settings.upstream_max_connections,
            max_response_bytes=settings.max_upstream_response_bytes,
            https_proxy=settings.https_proxy,
            http_proxy=settings.http_proxy,
            no_proxy=settings.no_proxy,
            ca_file=settings.upstream_ca_file,
        )
        self.router = Router(
            self.client,
            settings.upstream_secret,
            breakers=Breakers(self.breaker_rules),
            rules=RoutingRules(
                retries=settings.upstream_retries,
                backoff=settings.upstream_retry_backoff,
                max_retry_after=settings.upstream_max_retry_after,
                quota_wait=settings.upstream_quota_wait,
                deadline=settings.request_deadline,
            ),
        )
        self.metrics = (
            Metrics(
                multiprocess_dir=settings.metrics_multiprocess_dir,
                caller_limit=settings.metrics_caller_labels,
            )
            if settings.metrics
            else None
        )
        self.tracing = tracing(settings)
        observers: list[Observer] = [MetricsObserver(self.metrics)] if self.metrics else []
        if self.tracing is not None:
            observers.append(self.tracing)
        if settings.access_log:
            observers.append(RequestLog())
        self.pipeline = Pipeline(
            self.state,
            self.router,
            self.record,
            LocalLimiter(),
            Limits(settings.default_rpm, settings.default_tpm),
            Observers(observers),
            Reserve(
                bytes_per_token=settings.budget_prompt_bytes_per_token,
                unbounded=settings.budget_unbounded_output,
                default_output_tokens=settings.budget_default_output_tokens,
            ),
        )
        self.responses = WriteBehind(
            DatabaseResponses(lambda: self.engine, settings.responses_retention_days * DAY),
            self.spawn,
        )
        """Responses kept for the Responses API (``store: true``), usable once running."""
        self.redis: RedisLink | None = None
        self._notices: ChangeNotices | None = None
        self._engine: AsyncEngine | None = None
        self._sync: Synchroniser | None = None
        self._ledger: Ledger | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._polling: asyncio.Task[int] | None = None

    @property
    def breaker_rules(self) -> BreakerRules:
        settings = self.settings
        return BreakerRules(
            failures=settings.breaker_failures,
            window=settings.breaker_window,
            cooldown=settings.breaker_cooldown,
            probe_timeout=settings.breaker_probe_timeout,
        )

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the runtime has not been started")
        return self._engine

    @property
    def notices_active(self) -> bool:
        return self._notices is not None and self._notices.listening

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        settings = self.settings
        async with contextlib.AsyncExitStack() as stack:
            self._engine = create_engine(
                settings.database_url,
                connect_timeout=settings.database_connect_timeout,
                statement_timeout=settings.database_statement_timeout,
            )
            stack.push_async_callback(self._engine.dispose)
            sync = self._sync = Synchroniser(
                self._engine,
                self.state,
                settings.refresh_interval,
                timeout=settings.database_connect_timeout + settings.database_statement_timeout,
            )
            await sync.load()
            sync.start()
            stack.push_async_callback(sync.stop)
            if settings.key_lookups_per_second:
                self.state.auth.lookup = KeyLookup(
                    self._find_key,
                    lambda key: self.state.auth.keys.put(key),
                    per_second=settings.key_lookups_per_second,
                )
            self._report_missing_credentials()
            stack.callback(self.client.close)
            stack.push_async_callback(self.router.close)
            if settings.redis_url:
                await self._start_redis(settings.redis_url, stack)
            else:
                log.info(
                    "no QUANTIZED_REDIS_URL: rate limits and budgets are counted per "
                    "process; other instances' changes are found by polling"
                )
            writer = usage_writer(
                self._engine,
                connect_timeout=settings.database_connect_timeout,
                statement_timeout=settings.database_statement_timeout,
            )
            stack.push_async_callback(writer.close)  # after the ledger's close
            budgets = self.state.budgets

            async def write(records: Sequence[UsageRecord]) -> None:
                async with budgets.counting:  # see Budgets.counting
                    await writer(records)
                    budgets.written(records)

            ledger = self._ledger = Ledger(
                write,
                interval=settings.usage_flush_interval,
                batch=settings.usage_batch_rows,
                flush_at=settings.usage_flush_rows,
                concurrency=settings.usage_writes,
                capacity=settings.usage_buffer,
            )
            ledger.start()
            stack.push_async_callback(ledger.close)  # runs before the engine is disposed
            self.alerts.start()
            stack.push_async_callback(self.alerts.close)  # before the ledger's close
            self._keep_usage(stack)
            stack.push_async_callback(self._finish_background)
            if self.jwt_issuers:
                await self._start_jwt(stack)
            self._observe(stack)
            yield self
        self._engine = None
        self._sync = None
        self._ledger = None

    def _keep_usage(self, stack: contextlib.AsyncExitStack) -> None:
        """Delete raw ledger rows past ``QUANTIZED_USAGE_RETENTION_DAYS``, now and then."""
        settings, engine = self.settings, self.engine
        if not settings.usage_retention_days:
            return
        retention = Retention(
            lambda before: delete_expired_usage(engine, before, settings.usage_retention_batch),
            settings.usage_retention_days,
        )
        retention.start()
        stack.push_async_callback(retention.stop)

    def _observe(self, stack: contextlib.AsyncExitStack) -> None:
        """Sample metrics every second when other workers' scrapes read them; at shutdown,
        export the spans left and retire this worker's live gauges."""
        if self.tracing is not None:
            stack.push_async_callback(asyncio.to_thread, self.tracing.close)
        metrics = self.metrics
        if metrics is None:
            return
        stack.callback(metrics.close)
        if metrics.multiprocess_dir:
            sampler = asyncio.get_running_loop().create_task(self._sample_every_second(metrics))
            stack.callback(sampler.cancel)

    async def _sample_every_second(self, metrics: Metrics) -> None:
        while True:
            try:
                metrics.sample(self.snapshot())
            except Exception:  # never stop sampling for one bad look
                log.exception("could not sample metrics")
            await asyncio.sleep(1.0)

    def snapshot(self) -> Snapshot:
        """The state metrics sample (see ``quantized.observability.metrics``)."""
        ledger, state = self._ledger, self.state
        return Snapshot(
            ledger_pending=(ledger.pending + ledger.in_flight) if ledger else 0,
            ledger_written=ledger.written if ledger else 0,
            ledger_dropped=(ledger.dropped + ledger.refused) if ledger else 0,
            database_up=state.store_ok,
            redis_up=self.redis.available if self.redis is not None else None,
            models=len(state.catalog.active),
            keys=len(state.auth.keys),
        )

    async def _start_redis(self, url: str, stack: contextlib.AsyncExitStack) -> None:
        from quantized.coordination.health import SharedBreakers
        from quantized.coordination.limits import RedisLimiter
        from quantized.coordination.notices import ChangeNotices
        from quantized.coordination.redis import RedisLink
        from quantized.coordination.spend import RedisSpend

        settings = self.settings
        link = self.redis = RedisLink(url, settings.redis_prefix, settings.redis_timeout)
        await link.start()
        stack.push_async_callback(link.stop)
        limiter = self.pipeline.limiter = RedisLimiter(link, fail_closed=settings.redis_fail_closed)
        self.router.quotas.limiter = limiter
        stack.push_async_callback(limiter.close)  # before the link stops
        breakers = self.router.breakers = SharedBreakers(
            link, self.breaker_rules, settings.health_sync_interval
        )
        await breakers.start()
        stack.push_async_callback(breakers.stop)
        self.state.budgets.share(RedisSpend(link, settings.budget_reservation_ttl), self.spawn)
        notices = self._notices = ChangeNotices(link, self._on_notice)
        notices.start()
        stack.push_async_callback(notices.stop)

    async def _on_notice(self) -> None:
        """Another process changed something: look now (one poll at a time, coalesced)."""
        if self._sync is None:
            return
        if self._polling is None or self._polling.done():
            self._polling = asyncio.create_task(self._sync.poll())
        with contextlib.suppress(Exception):
            await asyncio.shield(self._polling)

    async def refresh(self) -> None:
        """Apply changes this process just wrote, now, and tell the other instances."""
        if self._sync is not None:
            await self._sync.poll()
        if self._notices is not None:
            await self._notices.publish()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background (kept referenced until it finishes)."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _finish_background(self) -> None:
        if self._background:
            await asyncio.wait(self._background, timeout=5)

    def record(
        self, record: UsageRecord, reservation: Reservation | None = None
    ) -> asyncio.Future[Any] | None:
        """Hand a usage record to the ledger (written in the background) and the budgets,
        settling the request's reservation; returns the shared settlement under way, if any
        (see ``Budgets.charge``)."""
        charging = self.state.budgets.charge(record, reservation)
        if self._ledger is not None:
            self._ledger.record(record)
        return charging

    async def _find_key(self, digest: bytes) -> ApiKey | None:
        """A key by digest, straight from the store (for keys created a moment ago)."""
        try:
            async with asyncio.timeout(self.settings.database_connect_timeout):
                async with connection(self.engine) as conn:
                    return await key_store.key_by_digest(conn, digest)
        except TimeoutError:
            raise unavailable() from None

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
        self.state.auth.jwt = verifier
        log.info("accepting JWTs from %s", ", ".join(i.label for i in self.jwt_issuers))
