"""Redis faults under real gateways: a restart, and error replies.

After a restart, connections opened before it are dead; the first command on
each finds that out and is sent once more on a fresh connection, so an admin
write right after the restart (which publishes a change notice) neither flips
``/readyz`` nor drops rate limits to per-process counting. Error replies (out of
memory, a key of the wrong type) are answered by the local fallback, never by a
500.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.utils.catalogs import write_catalog
from tests.utils.databases import create_postgres_database, drop_postgres_database
from tests.utils.network import RedisServer
from tests.utils.processes import Gateway, free_port, quantized_env, start_gateway, wait_until
from tests.utils.stacks import catalog
from tests.utils.upstreams import FakeUpstream

USER = {"role": "user", "content": "hi"}


@dataclass
class ReadinessWatch:
    """Polls ``/readyz`` of every gateway in a thread and keeps every answer."""

    urls: list[str]
    answers: list[tuple[str, int, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ReadinessWatch:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                for url in self.urls:
                    response = client.get(f"{url}/readyz")
                    self.answers.append((url, response.status_code, response.text))
                self._stop.wait(0.02)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[list[Gateway], RedisServer]]:
    redis = RedisServer().start()
    fake = FakeUpstream().start()
    catalog_file = write_catalog(
        tmp_path / "c.yaml", catalog(fake.base_url, f"http://127.0.0.1:{free_port()}")
    )
    url = create_postgres_database()
    env = quantized_env(
        url,
        QUANTIZED_REDIS_URL=redis.url,
        QUANTIZED_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
        QUANTIZED_CATALOG_FILE=str(catalog_file),
        FAKE_KEY="sk-fake",
    )
    gateways = [start_gateway(env, tmp_path) for _ in range(2)]
    try:
        yield gateways, redis
    finally:
        for gateway in gateways:
            gateway.stop()
        fake.stop()
        redis.stop()
        drop_postgres_database(url)


def ready(gateway: Gateway) -> bool:
    response = httpx.get(f"{gateway.url}/readyz")
    return response.status_code == 200 and response.json()["changes"] == "notified"


def create_key(gateway: Gateway, admin_key: str, **fields: object) -> dict[str, object]:
    response = httpx.post(
        f"{gateway.url}/admin/v1/keys",
        headers={"Authorization": f"Bearer {admin_key}"},
        json={"name": f"k-{uuid.uuid4().hex[:6]}", **fields},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_admin_write_after_a_redis_restart_keeps_shared_limits(
    pair: tuple[list[Gateway], RedisServer],
) -> None:
    gateways, redis = pair
    admin_key = gateways[0].admin_key
    assert admin_key
    for gateway in gateways:
        wait_until(lambda g=gateway: ready(g))
    # Several admin writes at once on each instance: each publishes a change notice, so the
    # redis-py pools hold several connections, all of which the restart kills.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: create_key(gateways[i % 2], admin_key), range(16)))

    redis.stop()
    redis.start()  # the same address
    for gateway in gateways:
        wait_until(lambda g=gateway: ready(g), timeout=15)

    with ReadinessWatch([g.url for g in gateways]) as watch:
        # admin writes on both instances, on pools whose older connections are dead
        with ThreadPoolExecutor(4) as pool:
            keys = list(
                pool.map(lambda i: create_key(gateways[i % 2], admin_key, rpm_limit=4), range(4))
            )
        limited = str(keys[0]["secret"])
        headers = {"Authorization": f"Bearer {limited}"}
        wait_until(
            lambda: all(
                httpx.get(f"{g.url}/v1/models", headers=headers).status_code == 200
                for g in gateways
            )
        )
        statuses = [
            httpx.post(
                f"{gateways[n % 2].url}/v1/chat/completions",
                headers=headers,
                json={"model": "fake/gpt", "messages": [USER]},
                timeout=30,
            ).status_code
            for n in range(8)
        ]
        wait_until(lambda: len(watch.answers) >= 40)  # about a second of readiness answers
    assert sorted(statuses) == [200] * 4 + [429] * 4, statuses
    unready = [answer for answer in watch.answers if answer[1] != 200]
    assert not unready, unready[:3]
    for gateway in gateways:
        assert "Redis is unreachable (" not in gateway.log().split("Redis is reachable again")[-1]


def test_error_replies_never_reach_a_request(tmp_path: Path) -> None:
    redis = RedisServer().start()
    fake = FakeUpstream().start()
    catalog_file = write_catalog(
        tmp_path / "c.yaml", catalog(fake.base_url, f"http://127.0.0.1:{free_port()}")
    )
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    env = quantized_env(
        f"sqlite:///{tmp_path / 'q.db'}",
        QUANTIZED_REDIS_URL=redis.url,
        QUANTIZED_REDIS_PREFIX=prefix,
        QUANTIZED_CATALOG_FILE=str(catalog_file),
        FAKE_KEY="sk-fake",
    )
    gateway = start_gateway(env, tmp_path)
    try:
        assert gateway.admin_key
        wait_until(lambda: ready(gateway))
        key = create_key(gateway, gateway.admin_key, rpm_limit=3, tpm_limit=10**9)
        budget = httpx.put(
            f"{gateway.url}/admin/v1/budgets/key/{key['id']}",
            headers={"Authorization": f"Bearer {gateway.admin_key}"},
            json={"daily_usd": 100},
        )
        assert budget.status_code == 200, budget.text
        # the caller's request log holds the wrong type, and Redis refuses every write
        redis.command("SET", f"{prefix}:rl:req:key:{key['id']}", "not a sorted set")
        redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        redis.command("CONFIG", "SET", "maxmemory", "1")
        headers = {"Authorization": f"Bearer {key['secret']}"}
        wait_until(
            lambda: httpx.get(f"{gateway.url}/v1/models", headers=headers).status_code == 200
        )
        statuses = [
            httpx.post(
                f"{gateway.url}/v1/chat/completions",
                headers=headers,
                json={"model": "fake/gpt", "messages": [USER]},
                timeout=30,
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]  # counted by this process instead
        assert httpx.get(f"{gateway.url}/readyz").status_code == 200  # Redis does answer

        def logged() -> list[str]:
            return [line for line in gateway.log().splitlines() if "with an error (" in line]

        # one line per kind of error: the budget's reservation (OOM) and the limiter's
        # admission (WRONGTYPE); the charges' OOM a moment later is not logged again
        lines = wait_until(lambda: len(logged()) == 2 and logged())
        assert sorted(line.split("with an error (")[1][:3] for line in lines) == ["OOM", "WRO"]
        assert "Traceback" not in gateway.log()
    finally:
        gateway.stop()
        fake.stop()
        redis.stop()
