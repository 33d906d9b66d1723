"""Budget alerts: a log line, a row in the database, and a signed webhook, once per window.

When a budget's spend reaches one of its thresholds in a window, :meth:`BudgetAlerts.crossed`
(on the request path: it never blocks, never raises) logs one WARNING line and queues the
alert. In the background, the alert is **claimed** in the database (see
``quantized.store.alerts``): of the instances that saw the crossing, only the one whose
insert wins goes on. A database that cannot be reached is tried again, with growing
pauses, for as long as the process lives. Without a webhook URL the alert is only logged
and stored (status ``logged``).

With one, the winner POSTs the JSON body (:func:`webhook_body`) to it. A 2xx answer
delivers it; any other status, a timeout or a connection error is a failed attempt,
tried again after 1, 2, 4 … seconds (``base_delay`` doubled, at most ``max_delay``,
with up to half taken off at random) until ``attempts`` were made: then the alert is
``failed``. Each attempt is written to its row (``attempts``, ``last_error``: the status
code or the error's class, never a body or a secret). Amounts are USD as JSON numbers,
as everywhere in the API (``quantized.usage.cost.usd_number``: exact to the picodollar
below $1,000).

With a secret, ``X-Quantized-Signature: t=<unix seconds>,v1=<hex>`` carries the
HMAC-SHA256 of ``<t>.<raw body>`` under the secret: a receiver recomputes it, compares
in constant time and refuses old ``t`` (replays). ``X-Quantized-Delivery`` (the alert's
id) is the same for every attempt, so receivers can drop duplicates.

**Resuming.** Pending alerts of an instance that stopped are taken over by the others
(and by itself after a restart): every ``resume_after / 2`` seconds each instance reads
the pending alerts; one whose attempts did not change for ``resume_after`` seconds plus
the attempt timeout plus the pause its owner would take is resumed by the first instance
to take its next attempt. Delivery is at least once: an owner that stalls longer than
that, or that dies between a 2xx answer and writing it, causes a second delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import SecretStr

from quantized.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
)
from quantized.usage.budgets import Budget, usd
from quantized.usage.cost import usd_number
from quantized.usage.windows import Window

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("quantized.alerts")
T = TypeVar("T")

EVENT = "budget.threshold"
PENDING, DELIVERED, FAILED, LOGGED = "pending", "delivered", "failed", "logged"
STATUSES = (PENDING, DELIVERED, FAILED, LOGGED)
"""``logged``: raised while no webhook was configured, so only logged and stored."""
_MAX_DB_PAUSE = 60.0  # seconds between tries while the database stays away


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as stored: what was crossed, and how its delivery went."""

    id: int
    budget_id: int
    window: str
    """The window's label (``2026-11``)."""
    threshold: int
    created_at: float
    payload: dict[str, Any]
    """The webhook body without its ``id`` (see :func:`webhook_body`)."""
    status: str
    attempts: int
    last_error: str | None
    delivered_at: float | None


class AlertStore(Protocol):
    """Where alerts are kept: ``quantized.store.alerts.DatabaseAlerts``."""

    async def claim(
        self,
        budget_id: int,
        window: str,
        threshold: int,
        created_at: float,
        payload: dict[str, Any],
        status: str = PENDING,
    ) -> int | None:
        """The new alert's id, or ``None`` if another instance claimed it."""

    async def take(self, alert_id: int, done: int) -> bool:
        """Begin attempt ``done + 1``, if the alert is pending with ``done`` attempts."""

    async def finish(
        self, alert_id: int, attempt: int, error: str | None, final: bool, now: float
    ) -> bool:
        """Write an attempt's outcome, if the alert is still pending at that attempt."""

    async def get(self, alert_id: int) -> Alert | None: ...

    async def recent(
        self,
        *,
        limit: int,
        before_id: int | None = None,
        status: str | None = None,
        budget_id: int | None = None,
    ) -> list[Alert]:
        """Newest first."""

    async def pending(self, limit: int = 1000) -> list[Alert]: ...

    async def requeue(self, alert_id: int) -> bool:
        """Make a failed or logged alert pending again, with no attempts made."""


def iso(moment: float) -> str:
    """Unix seconds as an RFC 3339 UTC time: ``2026-11-20T09:30:00.250Z``."""
    at = dt.datetime.fromtimestamp(moment, dt.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload_of(
    budget: Budget, window: Window, threshold: int, spent: int, now: float
) -> dict[str, Any]:
    """The webhook body of a crossing, but its ``id`` (known once stored)."""
    return {
        "type": EVENT,
        "budget": budget.public(),
        "threshold": threshold,
        "spent_usd": usd_number(spent),
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "label": window.label,
            "resets_at": window.resets_at.isoformat(),
        },
        "created_at": iso(now),
    }


def webhook_body(alert_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """What is POSTed: ``type``, ``id`` (the alert's), then the rest of the payload."""
    return {"type": payload.get("type", EVENT), "id": alert_id, **payload}


def signature(secret: bytes, body: bytes, moment: int) -> str:
    """The ``X-Quantized-Signature`` value of ``body`` sent at ``moment`` (unix seconds)."""
    digest = hmac.new(secret, b"%d." % moment + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


@dataclass(frozen=True, slots=True)
class _Crossing:
    budget_id: int
    window: str
    threshold: int
    created_at: float
    payload: dict[str, Any]


class BudgetAlerts:
    """:class:`~quantized.usage.budgets.Alerts` that log, store and deliver (see above).

    ``client`` is used for the webhook if given (and left open), else one is made by
    :meth:`start` and closed by :meth:`close`. ``concurrency`` bounds the POSTs in flight.
    """

    def __init__(
        self,
        store: AlertStore,
        *,
        webhook_url: str | None,
        secret: SecretStr | None = None,
        attempts: int = 8,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        resume_after: float = 60.0,
        concurrency: int = 8,
    ) -> None:
        if attempts < 1 or min(timeout, base_delay, max_delay, resume_after, concurrency) <= 0:
            raise ValueError("attempts, timeout, delays and concurrency must be positive")
        self._store = store
        self._url = webhook_url
        self._secret = secret.get_secret_value().encode() if secret is not None else None
        self._attempts = attempts
        self._timeout = timeout
        self._client = client
        self._own_client = client is None
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._resume_after = resume_after
        self._sending = asyncio.Semaphore(concurrency)
        self._new: deque[_Crossing] = deque()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._deliveries: dict[int, asyncio.Task[None]] = {}
        self._seen: dict[int, tuple[int, float]] = {}  # pending alert: (attempts, since)
        self.delivered = 0
        self.failed = 0

    @property
    def waiting(self) -> int:
        """Crossings not claimed yet (the database was away, or the worker is behind)."""
        return len(self._new)

    def crossed(
        self, budget: Budget, window: Window, threshold: int, spent: int, now: float
    ) -> None:
        """Log the crossing and queue it; never blocks, never fails."""
        try:
            log.warning(
                "budget alert: %s reached %d %% (%s of %s) in %s",
                budget.describe(),
                threshold,
                usd(spent),
                usd(budget.limit_pusd),
                window.label,
            )
            payload = payload_of(budget, window, threshold, spent, now)
            self._new.append(_Crossing(budget.id, window.label, threshold, now, payload))
            self._wake.set()
        except Exception:  # an alert must never fail the request that raised it
            log.exception("could not queue a budget alert")

    def start(self) -> None:
        if self._worker is not None:
            return
        if self._client is None and self._url is not None:
            import httpx  # only with a webhook: the gateway does not load it otherwise

            self._client = httpx.AsyncClient(follow_redirects=False)
        self._stop.clear()
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def close(self, timeout: float = 10.0) -> None:
        """Claim what waits, let attempts in flight finish, within ``timeout`` seconds.

        Alerts waiting for their next attempt stay pending in the database, for another
        instance (or this one's next start) to resume.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            done, _ = await asyncio.wait([self._worker], timeout=timeout)
            if not done:  # the database hangs: what waits is logged below
                self._worker.cancel()
                await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        tasks = list(self._deliveries.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(deadline - loop.time(), 0))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._new:
            log.error("%d budget alerts could not be stored before shutdown", len(self._new))
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def recent(
        self,
        *,
        limit: int,
        before_id: int | None = None,
        status: str | None = None,
        budget_id: int | None = None,
    ) -> list[Alert]:
        """Stored alerts, newest first."""
        return await self._store.recent(
            limit=limit, before_id=before_id, status=status, budget_id=budget_id
        )

    async def retry(self, alert_id: int) -> Alert:
        """Deliver a failed (or only logged) alert again, from its first attempt."""
        found = await self._store.get(alert_id)
        if found is None:
            raise NotFoundError(f"no budget alert {alert_id}", code="alert_not_found")
        if found.status == DELIVERED:
            raise ConflictError(f"budget alert {alert_id} was delivered", code="alert_delivered")
        if found.status == PENDING:
            raise ConflictError(f"budget alert {alert_id} is being delivered", code="alert_pending")
        if self._url is None:
            raise ConflictError(
                "no webhook to deliver to: set QUANTIZED_ALERT_WEBHOOK_URL",
                code="webhook_not_configured",
            )
        if not await self._store.requeue(alert_id):
            raise ConflictError(
                f"budget alert {alert_id} changed meanwhile; try again", code="alert_pending"
            )
        self._deliver(alert_id, 0, found.payload)
        return (await self._store.get(alert_id)) or found

    async def _run(self) -> None:
        """Claim new crossings; look for pending alerts to resume, every so often."""
        loop = asyncio.get_running_loop()
        claim_at = scan_at = loop.time()
        failures = 0
        while True:
            self._wake.clear()
            if self._new and (loop.time() >= claim_at or self._stop.is_set()):
                if await self._claim_waiting():
                    failures = 0
                else:
                    failures += 1
                    claim_at = loop.time() + self._db_pause(failures)
            if self._stop.is_set():
                return
            if self._url is not None and loop.time() >= scan_at:
                with contextlib.suppress(ServiceUnavailableError):  # logged by the store
                    await self._scan(loop.time())
                scan_at = loop.time() + self._resume_after / 2
            wake_at = scan_at if self._url is not None else None
            if self._new:
                wake_at = claim_at if wake_at is None else min(wake_at, claim_at)
            wait = None if wake_at is None else max(wake_at - loop.time(), 0.001)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _db_pause(self, failures: int) -> float:
        return min(self._base_delay * 2.0 ** (failures - 1), _MAX_DB_PAUSE)

    async def _claim_waiting(self) -> bool:
        """Claim the waiting crossings, oldest first; ``False`` if the database failed."""
        status = PENDING if self._url is not None else LOGGED
        while self._new:
            crossing = self._new[0]
            try:
                alert_id = await self._store.claim(
                    crossing.budget_id,
                    crossing.window,
                    crossing.threshold,
                    crossing.created_at,
                    crossing.payload,
                    status,
                )
            except InvalidRequestError:  # a value the database can never store
                self._new.popleft()
                log.error("budget alert of budget %d cannot be stored: dropped", crossing.budget_id)
                continue
            except Exception as exc:  # the database is away (or a bug): keep it, try later
                log.warning(
                    "could not store %d budget alerts (%s); trying again later",
                    len(self._new),
                    type(exc).__name__,
                )
                return False
            self._new.popleft()
            if alert_id is not None and status == PENDING:
                self._deliver(alert_id, 0, crossing.payload)
        return True

    async def _scan(self, now: float) -> None:
        """Resume the pending alerts whose attempts have not moved for long enough."""
        seen: dict[int, tuple[int, float]] = {}
        for alert in await self._store.pending():
            if alert.id in self._deliveries:
                continue
            attempts, since = self._seen.get(alert.id, (-1, now))
            if attempts != alert.attempts:
                seen[alert.id] = (alert.attempts, now)
            elif now - since >= self._resume_after + self._timeout + self._delay(attempts):
                log.info("budget alert %d: resuming its delivery", alert.id)
                self._deliver(alert.id, alert.attempts, alert.payload)
            else:
                seen[alert.id] = (attempts, since)
        self._seen = seen

    def _delay(self, attempts: int) -> float:
        """The longest pause after ``attempts`` failed attempts (none before the first)."""
        return (
            0.0 if attempts < 1 else min(self._base_delay * 2.0 ** (attempts - 1), self._max_delay)
        )

    def _deliver(self, alert_id: int, done: int, payload: dict[str, Any]) -> None:
        if alert_id in self._deliveries:
            return
        task = asyncio.get_running_loop().create_task(self._delivery(alert_id, done, payload))
        self._deliveries[alert_id] = task
        task.add_done_callback(lambda _: self._deliveries.pop(alert_id, None))

    async def _delivery(self, alert_id: int, done: int, payload: dict[str, Any]) -> None:
        """Attempt after attempt, until delivered, failed, or taken over by another."""
        try:
            while True:
                if not await self._stored(partial(self._store.take, alert_id, done)):
                    log.info("budget alert %d: delivered by another instance", alert_id)
                    return
                attempt = done + 1
                async with self._sending:
                    error = await self._post(alert_id, payload)
                final = error is None or attempt >= self._attempts
                outcome = partial(self._store.finish, alert_id, attempt, error, final, time.time())
                if not await self._stored(outcome):
                    log.info("budget alert %d: taken over by another instance", alert_id)
                    return
                if error is None:
                    self.delivered += 1
                    log.info("budget alert %d delivered (attempt %d)", alert_id, attempt)
                    return
                if final:
                    self.failed += 1
                    log.error(
                        "budget alert %d: delivery failed %d times (last: %s); giving up",
                        alert_id,
                        attempt,
                        error,
                    )
                    return
                pause = self._delay(attempt) * (0.5 + random.random() / 2)  # noqa: S311
                log.warning(
                    "budget alert %d: delivery attempt %d of %d failed (%s); retrying in %.1f s",
                    alert_id,
                    attempt,
                    self._attempts,
                    error,
                    pause,
                )
                done = attempt
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)
                if self._stop.is_set():
                    return  # stays pending: resumed after a restart or by another instance
        except Exception:  # a bug must not end the worker; the alert stays pending
            log.exception("budget alert %d: delivery stopped", alert_id)

    async def _stored(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` until the database answers (this delivery is cancelled at close)."""
        failures = 0
        while True:
            try:
                return await call()
            except ServiceUnavailableError:
                failures += 1
                await asyncio.sleep(self._db_pause(failures))

    async def _post(self, alert_id: int, payload: dict[str, Any]) -> str | None:
        """One attempt: ``None`` if delivered, else what went wrong (no body, no secret)."""
        assert self._client is not None and self._url is not None  # noqa: S101 - started
        body = json.dumps(webhook_body(alert_id, payload), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "quantized",
            "X-Quantized-Event": EVENT,
            "X-Quantized-Delivery": str(alert_id),
        }
        if self._secret is not None:
            headers["X-Quantized-Signature"] = signature(self._secret, body, int(time.time()))
        try:
            async with asyncio.timeout(self._timeout):
                async with self._client.stream(
                    "POST",
                    self._url,
                    content=body,
                    headers=headers,
                    timeout=None,  # the whole attempt is bounded above
                ) as response:
                    status = response.status_code
        except Exception as exc:  # a timeout, a refused connection, a broken answer
            return type(exc).__name__
        return None if 200 <= status < 300 else f"HTTP {status}"
