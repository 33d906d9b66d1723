"""Failure behaviour: Redis going away and coming back; the database connection cut and healed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.utils.catalogs import write_catalog
from tests.utils.databases import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
    query,
)
from tests.utils.network import RedisServer, TcpProxy
from tests.utils.processes import free_port, quantized_env, start_gateway, wait_until
from tests.utils.stacks import catalog
from tests.utils.upstreams import FakeUpstream

USER = {"role": "user", "content": "hi"}


def chat(url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "fake/gpt", "messages": [USER]},
        timeout=30,
    )


def readiness(url: str) -> dict[str, object]:
    response = httpx.get(f"{url}/readyz")
    body: dict[str, object] = response.json()
    body["http"] = response.status_code
    return body


def test_redis_outage_and_recovery(tmp_path: Path) -> None:
    redis = RedisServer().start()
    fake = FakeUpstream().start()
    catalog_file = write_catalog(
        tmp_path / "c.yaml", catalog(fake.base_url, f"http://127.0.0.1:{free_port()}")
    )
    env = quantized_env(
        f"sqlite:///{tmp_path / 'q.db'}",
        QUANTIZED_REDIS_URL=redis.url,
        QUANTIZED_CATALOG_FILE=str(catalog_file),
        FAKE_KEY="sk-fake",
        QUANTIZED_DEFAULT_RPM="5",
    )
    gateway = start_gateway(env, tmp_path)
    try:
        key = gateway.admin_key
        assert key
        wait_until(lambda: readiness(gateway.url)["changes"] == "notified")
        assert readiness(gateway.url)["http"] == 200
        assert [chat(gateway.url, key).status_code for _ in range(2)] == [200, 200]

        redis.stop()
        # still serving: the listing from memory, chat with per-process limits
        assert (
            httpx.get(
                f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {key}"}
            ).status_code
            == 200
        )
        statuses = [chat(gateway.url, key).status_code for _ in range(6)]
        assert statuses[:5] == [200] * 5 and statuses[5] == 429  # 5 per minute, counted here
        # the first command to fail marks Redis down; the change listener notices its own
        # connection broke a moment later (both within seconds)
        ready = wait_until(
            lambda: (
                (r := readiness(gateway.url))["redis"] == "unreachable"
                and r["changes"] == "polling"
                and r
            )
        )
        assert ready["http"] == 503
        assert "Redis is unreachable" in gateway.log()

        redis.port = redis.port  # the same address comes back
        redis.start()
        ready = wait_until(lambda: (r := readiness(gateway.url))["redis"] == "ok" and r, timeout=10)
        assert ready["http"] == 200
        wait_until(lambda: readiness(gateway.url)["changes"] == "notified", timeout=10)
        assert "Redis is reachable again" in gateway.log()
        # shared counting resumed: Redis starts empty, so 5 more are admitted there
        assert chat(gateway.url, key).status_code == 200
    finally:
        gateway.stop()
        fake.stop()
        redis.stop()


def test_database_connection_lost_and_restored(tmp_path: Path) -> None:
    url = create_postgres_database()
    database = url.rsplit("/", 1)[1]
    postgres_port = int(POSTGRES_ADMIN_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(postgres_port).start()
    fake = FakeUpstream().start()
    catalog_file = write_catalog(
        tmp_path / "c.yaml", catalog(fake.base_url, f"http://127.0.0.1:{free_port()}")
    )
    env = quantized_env(
        f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}",
        QUANTIZED_CATALOG_FILE=str(catalog_file),
        FAKE_KEY="sk-fake",
    )
    gateway = start_gateway(env, tmp_path)
    try:
        key = gateway.admin_key
        assert key
        headers = {"Authorization": f"Bearer {key}"}
        proxy.cut()
        ready = wait_until(lambda: (r := readiness(gateway.url))["database"] == "unreachable" and r)
        assert ready["http"] == 503
        # known keys keep working from memory; unknown ones cannot be checked: 503, not 401
        assert httpx.get(f"{gateway.url}/v1/models", headers=headers).status_code == 200
        unknown = httpx.get(
            f"{gateway.url}/v1/models", headers={"Authorization": "Bearer sk-quantized-" + "u" * 43}
        )
        assert unknown.status_code == 503
        assert "database is unreachable" in unknown.json()["error"]["message"]
        refused = httpx.post(f"{gateway.url}/admin/v1/keys", headers=headers, json={"name": "x"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "database_unavailable"
        served = [chat(gateway.url, key) for _ in range(5)]
        assert [r.status_code for r in served] == [200] * 5
        wait_until(lambda: "could not write" in gateway.log(), timeout=10)  # it tried, and failed
        ids = [r.headers["x-request-id"] for r in served]
        assert not query(url, "SELECT request_id FROM usage")  # nothing could be written yet

        proxy.start()
        wait_until(lambda: readiness(gateway.url)["database"] == "ok", timeout=15)

        def written() -> bool:
            rows = query(url, "SELECT request_id FROM usage")
            return {r["request_id"] for r in rows} >= set(ids)

        wait_until(written, timeout=15)
        assert "the database is reachable again" in gateway.log()
    finally:
        gateway.stop()
        proxy.cut()
        fake.stop()
        drop_postgres_database(url)


def test_a_database_that_stops_answering_fails_fast_and_recovers(tmp_path: Path) -> None:
    """PostgreSQL reachable but silent: admin and usage calls get 503 within seconds (not a
    60 s hang and a 500), /readyz says so, unknown keys get 503; known keys keep working."""
    url = create_postgres_database()
    database = url.rsplit("/", 1)[1]
    postgres_port = int(POSTGRES_ADMIN_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(postgres_port).start()
    env = quantized_env(
        f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}",
        QUANTIZED_DATABASE_CONNECT_TIMEOUT="2",
        QUANTIZED_DATABASE_STATEMENT_TIMEOUT="2",
    )
    gateway = start_gateway(env, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {gateway.admin_key}"}
        proxy.freeze()
        for call in (
            lambda: httpx.post(
                f"{gateway.url}/admin/v1/keys", headers=headers, json={"name": "x"}, timeout=30
            ),
            lambda: httpx.get(f"{gateway.url}/admin/v1/audit", headers=headers, timeout=30),
            lambda: httpx.get(f"{gateway.url}/v1/usage", headers=headers, timeout=30),
        ):
            started = time.monotonic()
            response = call()
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
            assert time.monotonic() - started < 8
        ready = wait_until(
            lambda: (r := readiness(gateway.url))["database"] == "unreachable" and r, timeout=15
        )
        assert ready["http"] == 503
        assert httpx.get(f"{gateway.url}/v1/models", headers=headers).status_code == 200
        unknown = httpx.get(
            f"{gateway.url}/v1/models", headers={"Authorization": "Bearer sk-quantized-" + "z" * 43}
        )
        assert unknown.status_code == 503
        proxy.thaw()
        wait_until(lambda: readiness(gateway.url)["http"] == 200, timeout=20)
        created = httpx.post(
            f"{gateway.url}/admin/v1/keys", headers=headers, json={"name": "after"}, timeout=30
        )
        assert created.status_code == 201, created.text
        assert "Traceback" not in gateway.log()
    finally:
        gateway.stop()
        proxy.cut()
        drop_postgres_database(url)
