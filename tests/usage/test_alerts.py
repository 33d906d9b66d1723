"""Budget alerts on real databases, delivered to a real HTTP receiver: signed, retried with
growing pauses, once per (budget, window, threshold) across instances, resumed after a
stop, and visible (failures included) through the admin API."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.store import migrate
from quantized.store.alerts import DatabaseAlerts
from quantized.store.database import create_engine, unavailable
from quantized.usage.alerts import Alert, BudgetAlerts
from quantized.usage.budgets import Budget
from quantized.usage.windows import window_of
from tests.utils.databases import query
from tests.utils.inprocess import in_process
from tests.utils.processes import free_port

T = TypeVar("T")
USD = 10**12
SECRET = "whsec-test-secret-3f9a"
BUDGET = Budget(3, "team", "3", "", "month", 0, 10 * USD, True, (50, 80, 100))
NOVEMBER = window_of("month", 0, dt.date(2026, 11, 20), ZoneInfo("UTC"))
DECEMBER = window_of("month", 0, dt.date(2026, 12, 5), ZoneInfo("UTC"))
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC).timestamp()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on a free port: each POST gets the next of ``statuses``, then
    ``then``; it keeps what it received."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/budget"

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.received.append(Received(headers, body))
            return self.statuses.pop(0) if self.statuses else self.then

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the framework's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                self.send_response(receiver.answer(headers, body))
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)


async def until(probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0) -> T:
    async with asyncio.timeout(timeout):
        while True:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(0.01)


async def migrated(url: str) -> AsyncEngine:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    return engine


@asynccontextmanager
async def alerting(engine: AsyncEngine, url: str | None, **options: Any) -> AsyncIterator[Any]:
    """A started :class:`BudgetAlerts` (fast pauses) on ``engine``, closed afterwards."""
    settings: dict[str, Any] = {
        "secret": SecretStr(SECRET),
        "attempts": 3,
        "timeout": 2.0,
        "base_delay": 0.01,
        **options,
    }
    alerts = BudgetAlerts(DatabaseAlerts(lambda: engine), webhook_url=url, **settings)
    alerts.start()
    try:
        yield alerts
    finally:
        await alerts.close()


def stored(engine: AsyncEngine, status: str, count: int = 1) -> Callable[[], Awaitable[Any]]:
    """A probe: the stored alerts once ``count`` of them have ``status``."""

    async def probe() -> list[Alert] | None:
        found = await DatabaseAlerts(lambda: engine).recent(limit=100, status=status)
        return found if len(found) >= count else None

    return probe


def rows(url: str) -> list[dict[str, object]]:
    return query(url, "SELECT * FROM budget_alerts ORDER BY id")


def verify(secret: str, header: str, body: bytes) -> int:
    """A receiver's check, written from the documentation: the signed moment, if valid."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(expected.hexdigest(), parts["v1"])
    return int(parts["t"])


def test_an_alert_is_logged_and_delivered_once_signed(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver()

    async def main() -> None:
        engine = await migrated(database_url)
        try:
            async with alerting(engine, receiver.url) as alerts:
                alerts.crossed(BUDGET, NOVEMBER, 80, 8 * USD, NOW)
                await until(stored(engine, "delivered"))
                alerts.crossed(BUDGET, NOVEMBER, 80, 9 * USD, NOW + 60)  # seen again: nothing
        finally:
            await engine.dispose()

    with caplog.at_level(logging.INFO, logger="quantized.alerts"), receiver.running():
        asyncio.run(main())
    [row] = rows(database_url)
    assert (row["budget_id"], row["window_start"], row["threshold"]) == (3, "2026-11", 80)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 1, None)
    assert isinstance(row["delivered_at"], float) and row["delivered_at"] <= time.time()
    [delivery] = receiver.received
    signed = verify(SECRET, delivery.headers["x-quantized-signature"], delivery.body)
    assert abs(signed - time.time()) < 60
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["user-agent"] == "quantized"
    assert delivery.headers["x-quantized-event"] == "budget.threshold"
    assert delivery.headers["x-quantized-delivery"] == str(row["id"])
    assert delivery.json() == {
        "type": "budget.threshold",
        "id": row["id"],
        "budget": {
            "id": 3,
            "scope": {"kind": "team", "id": "3"},
            "model": None,
            "period": "month",
            "days": None,
            "limit_usd": 10,
            "hard": True,
        },
        "threshold": 80,
        "spent_usd": 8,
        "window": {
            "start": "2026-11-01",
            "end": "2026-11-30",
            "label": "2026-11",
            "resets_at": "2026-12-01T00:00:00+00:00",
        },
        "created_at": "2026-11-20T09:30:00.000Z",
    }
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "quantized.alerts" and r.levelno == logging.WARNING
    ]
    assert lines == [
        "budget alert: the monthly budget of team 3 for all models reached 80 % "
        "($8.00 of $10.00) in 2026-11",
        "budget alert: the monthly budget of team 3 for all models reached 80 % "
        "($9.00 of $10.00) in 2026-11",
    ]
    assert SECRET not in caplog.text


def test_two_instances_told_the_same_crossing_deliver_it_once(database_url: str) -> None:
    receiver = Receiver()

    async def main() -> None:
        first, second = await migrated(database_url), create_engine(database_url)
        try:
            async with alerting(first, receiver.url) as one, alerting(second, receiver.url) as two:
                one.crossed(BUDGET, NOVEMBER, 100, 10 * USD, NOW)
                two.crossed(BUDGET, NOVEMBER, 100, 10 * USD, NOW + 1)
                await until(stored(first, "delivered"))
        finally:
            await first.dispose()
            await second.dispose()

    with receiver.running():
        asyncio.run(main())  # both closed: nothing of theirs is left under way
    assert receiver.count() == 1
    assert [(r["threshold"], r["status"], r["attempts"]) for r in rows(database_url)] == [
        (100, "delivered", 1)
    ]


def test_failed_attempts_are_retried_until_one_succeeds(database_url: str) -> None:
    receiver = Receiver(statuses=[500, 500])

    async def main() -> None:
        engine = await migrated(database_url)
        try:
            async with alerting(engine, receiver.url, attempts=5) as alerts:
                alerts.crossed(BUDGET, NOVEMBER, 50, 5 * USD, NOW)
                await until(stored(engine, "delivered"))
        finally:
            await engine.dispose()

    with receiver.running():
        asyncio.run(main())
    [row] = rows(database_url)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 3, "HTTP 500")
    assert receiver.count() == 3
    assert {r.headers["x-quantized-delivery"] for r in receiver.received} == {str(row["id"])}
    assert len({r.body for r in receiver.received}) == 1  # the same body, signed each time
    for delivery in receiver.received:
        verify(SECRET, delivery.headers["x-quantized-signature"], delivery.body)


def test_an_alert_that_always_fails_ends_failed_and_shows_why(database_url: str) -> None:
    receiver = Receiver(then=503)

    async def main() -> list[Alert]:
        engine = await migrated(database_url)
        try:
            async with alerting(engine, receiver.url, attempts=4) as alerts:
                alerts.crossed(BUDGET, NOVEMBER, 100, 11 * USD, NOW)
                await until(stored(engine, "failed"))
                assert alerts.failed == 1 and alerts.delivered == 0
                return await alerts.recent(limit=10, status="failed", budget_id=3)
        finally:
            await engine.dispose()

    with receiver.running():
        [failed] = asyncio.run(main())
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 4, "HTTP 503")
    assert failed.delivered_at is None and receiver.count() == 4


def test_connection_errors_and_timeouts_are_failed_attempts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    silent = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # never serves

    async def main() -> None:
        engine = await migrated(url)
        nowhere = f"http://127.0.0.1:{free_port()}/"
        quiet = f"http://127.0.0.1:{silent.server_address[1]}/"
        try:
            async with (
                alerting(engine, nowhere, attempts=2) as refused,
                alerting(engine, quiet, attempts=1, timeout=0.2) as timed_out,
            ):
                refused.crossed(BUDGET, NOVEMBER, 50, 5 * USD, NOW)
                timed_out.crossed(BUDGET, NOVEMBER, 80, 8 * USD, NOW)
                await until(stored(engine, "failed", 2))
        finally:
            await engine.dispose()

    try:
        asyncio.run(main())
    finally:
        silent.server_close()
    found = {r["threshold"]: (r["attempts"], r["last_error"]) for r in rows(url)}
    assert found == {50: (2, "ConnectError"), 80: (1, "TimeoutError")}


def test_another_window_raises_the_threshold_again(database_url: str) -> None:
    receiver = Receiver()

    async def main() -> None:
        engine = await migrated(database_url)
        try:
            async with alerting(engine, receiver.url) as alerts:
                alerts.crossed(BUDGET, NOVEMBER, 80, 8 * USD, NOW)
                alerts.crossed(BUDGET, DECEMBER, 80, 8 * USD, NOW + 30 * 86400)
                await until(stored(engine, "delivered", 2))
        finally:
            await engine.dispose()

    with receiver.running():
        asyncio.run(main())
    assert [(r["window_start"], r["status"]) for r in rows(database_url)] == [
        ("2026-11", "delivered"),
        ("2026-12", "delivered"),
    ]
    assert sorted(r.json()["window"]["label"] for r in receiver.received) == ["2026-11", "2026-12"]


def test_the_pending_alert_of_a_stopped_instance_is_resumed(database_url: str) -> None:
    receiver = Receiver()

    async def main() -> None:
        engine = await migrated(database_url)
        store = DatabaseAlerts(lambda: engine)
        try:
            gone = await store.claim(3, "2026-11", 100, NOW, {"type": "budget.threshold"})
            assert gone is not None and await store.take(gone, 0)  # then the instance died
            async with alerting(engine, receiver.url, resume_after=0.2, timeout=0.2):
                await until(stored(engine, "delivered"))
        finally:
            await engine.dispose()

    with receiver.running():
        asyncio.run(main())
    [row] = rows(database_url)
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert receiver.received[0].json() == {"type": "budget.threshold", "id": row["id"]}


class Unreachable(DatabaseAlerts):
    """The database, unreachable for the first ``outage`` claims."""

    def __init__(self, engine: AsyncEngine, outage: int) -> None:
        super().__init__(lambda: engine)
        self.outage = outage

    async def claim(self, *args: Any, **kwargs: Any) -> int | None:
        if self.outage > 0:
            self.outage -= 1
            raise unavailable()
        return await super().claim(*args, **kwargs)


def test_an_alert_waits_while_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    receiver = Receiver()

    async def main() -> None:
        engine = await migrated(url)
        store = Unreachable(engine, outage=3)
        alerts = BudgetAlerts(store, webhook_url=receiver.url, base_delay=0.01)
        alerts.start()
        try:
            alerts.crossed(BUDGET, NOVEMBER, 80, 8 * USD, NOW)
            await until(stored(engine, "delivered"))
            assert store.outage == 0 and alerts.waiting == 0
        finally:
            await alerts.close()
            await engine.dispose()

    with receiver.running():
        asyncio.run(main())
    assert receiver.count() == 1


def test_without_a_webhook_alerts_are_logged_and_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"

    async def main() -> None:
        engine = await migrated(url)
        try:
            async with alerting(engine, None) as alerts:
                alerts.crossed(BUDGET, NOVEMBER, 80, 8 * USD, NOW)
                await until(stored(engine, "logged"))
        finally:
            await engine.dispose()

    asyncio.run(main())
    assert [(r["status"], r["attempts"]) for r in rows(url)] == [("logged", 0)]


@pytest.mark.anyio
async def test_failed_deliveries_are_listed_and_retried_through_the_admin_api(
    tmp_path: Path,
) -> None:
    receiver = Receiver(then=500)
    with receiver.running():
        async with in_process(tmp_path) as running:
            client, admin = running.client, running.headers()
            runtime = running.app.runtime
            alerts = BudgetAlerts(
                DatabaseAlerts(lambda: runtime.engine),
                webhook_url=receiver.url,
                attempts=2,
                base_delay=0.01,
            )
            runtime.state.budgets.alerts = alerts  # as the runtime wires it
            alerts.start()
            try:
                await exercise_the_admin_api(client, admin, alerts, receiver)
            finally:
                await alerts.close()


async def exercise_the_admin_api(
    client: Any, admin: dict[str, str], alerts: BudgetAlerts, receiver: Receiver
) -> None:
    path = "/admin/v1/budgets/alerts"

    async def listed(**params: object) -> dict[str, Any]:
        answer = await client.get(path, params=params, headers=admin)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    other = Budget(4, "person", "alice@example.com", "openai/gpt-5", "rolling", 7, USD)
    week = window_of("rolling", 7, dt.date(2026, 11, 20), ZoneInfo("UTC"))
    alerts.crossed(BUDGET, NOVEMBER, 80, 8 * USD, NOW)
    alerts.crossed(other, week, 100, USD, NOW)

    async def both_failed() -> dict[str, Any] | None:
        found = await listed(status="failed")
        return found if len(found["data"]) == 2 else None

    failed = (await until(both_failed))["data"]
    assert [(a["budget_id"], a["window_label"]) for a in failed] == [
        (4, "2026-11-14/2026-11-20"),
        (3, "2026-11"),
    ]
    newest = failed[0]
    assert newest["object"] == "budget.alert" and newest["threshold"] == 100
    assert (newest["status"], newest["attempts"], newest["last_error"]) == ("failed", 2, "HTTP 500")
    assert newest["delivered_at"] is None
    assert newest["payload"]["id"] == newest["id"]
    assert newest["payload"]["budget"] == {
        "id": 4,
        "scope": {"kind": "person", "id": "alice@example.com"},
        "model": "openai/gpt-5",
        "period": "rolling",
        "days": 7,
        "limit_usd": 1,
        "hard": True,
    }
    page = await listed(limit=1)
    assert [a["id"] for a in page["data"]] == [newest["id"]] and page["has_more"]
    rest = await listed(before=newest["id"])
    assert [a["id"] for a in rest["data"]] == [failed[1]["id"]] and not rest["has_more"]
    assert [a["id"] for a in (await listed(budget_id=3))["data"]] == [failed[1]["id"]]
    assert (await listed(status="delivered"))["data"] == []

    receiver.then = 200
    retried = await client.post(f"{path}/{newest['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == newest["id"]

    async def delivered() -> list[Any] | None:
        return (await listed(status="delivered"))["data"] or None

    [done] = await until(delivered)
    assert (done["id"], done["attempts"], done["last_error"]) == (newest["id"], 1, "HTTP 500")
    assert receiver.received[-1].headers["x-quantized-delivery"] == str(newest["id"])

    again = await client.post(f"{path}/{newest['id']}/retry", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "alert_delivered"
    unknown = await client.post(f"{path}/999999/retry", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "alert_not_found"
    bad = await client.get(path, params={"status": "lost"}, headers=admin)
    assert bad.status_code == 400
    wrong = await client.delete(path, headers=admin)
    assert wrong.status_code in (404, 405)  # 405 once budgets' route reserves "alerts"
