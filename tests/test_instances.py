"""Several gateways on one PostgreSQL and one Redis: changes, limits and budgets hold."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.utils.catalogs import write_catalog
from tests.utils.databases import create_postgres_database, drop_postgres_database, query
from tests.utils.processes import (
    Gateway,
    free_port,
    quantized_env,
    run_cli,
    start_gateway,
    wait_until,
)
from tests.utils.stacks import catalog
from tests.utils.upstreams import FakeUpstream

SHARED_REDIS = "redis://127.0.0.1:6379/0"
USER = {"role": "user", "content": "hi"}


@dataclass
class Cluster:
    gateways: list[Gateway]
    admin_key: str
    database_url: str
    env: dict[str, str]

    def admin(self, index: int = 0) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateways[index].url,
            timeout=30,
            headers={"Authorization": f"Bearer {self.admin_key}"},
        )

    def status(self, index: int, key: str, path: str = "/v1/models") -> int:
        return httpx.get(
            f"{self.gateways[index].url}{path}", headers={"Authorization": f"Bearer {key}"}
        ).status_code


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three instances; polling every 5 s, so anything faster is Redis's change notices."""
    workdir: Path = tmp_path_factory.mktemp("cluster")
    fake = FakeUpstream().start()
    catalog_file = write_catalog(
        workdir / "catalog.yaml", catalog(fake.base_url, f"http://127.0.0.1:{free_port()}")
    )
    url = create_postgres_database()
    env = quantized_env(
        url,
        QUANTIZED_REFRESH_INTERVAL="5",
        QUANTIZED_REDIS_URL=SHARED_REDIS,
        QUANTIZED_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
        QUANTIZED_CATALOG_FILE=str(catalog_file),
        FAKE_KEY="sk-fake",
    )
    gateways = [start_gateway(env, workdir) for _ in range(3)]
    admin_key = gateways[0].admin_key
    assert admin_key is not None
    for gateway in gateways:
        ready = httpx.get(f"{gateway.url}/readyz").json()
        assert ready["redis"] == "ok" and ready["database"] == "ok"
        wait_until(lambda g=gateway: httpx.get(f"{g.url}/readyz").json()["changes"] == "notified")
    yield Cluster(gateways, admin_key, url, env)
    for gateway in gateways:
        gateway.stop()
    fake.stop()
    drop_postgres_database(url)


def timed(probe: object) -> float:
    started = time.monotonic()
    wait_until(probe, timeout=10, interval=0.01)  # type: ignore[arg-type]
    return time.monotonic() - started


def test_key_changes_reach_every_instance_within_a_second(cluster: Cluster) -> None:
    with cluster.admin(0) as admin:
        key = admin.post("/admin/v1/keys", json={"name": "roaming"}).json()
    for index in (1, 2):
        assert timed(lambda i=index: cluster.status(i, key["secret"]) == 200) < 1.0
    with cluster.admin(0) as admin:
        admin.post(f"/admin/v1/keys/{key['id']}/revoke")
    for index in (1, 2):
        assert timed(lambda i=index: cluster.status(i, key["secret"]) == 401) < 1.0


def test_cli_changes_are_announced_too(cluster: Cluster) -> None:
    secret = run_cli(
        "keys", "create", "--name", "from-cli", env=cluster.env, check=True
    ).stdout.split()[-1]
    assert timed(lambda: cluster.status(2, secret) == 200) < 1.5


def test_catalog_changes_reach_every_instance_within_a_second(cluster: Cluster) -> None:
    with cluster.admin(0) as admin:
        admin.patch("/admin/v1/models/fake/gpt", json={"cost": {"prompt": 7.77}})

    def repriced(index: int) -> bool:
        with cluster.admin(index) as client:
            return bool(client.get("/v1/models/fake/gpt").json()["cost"]["prompt"] == 7.77)

    for index in (1, 2):
        assert timed(lambda i=index: repriced(i)) < 1.0


def hammer(cluster: Cluster, key: str, total: int, workers: int) -> list[httpx.Response]:
    """``total`` chat requests from ``workers`` threads, spread over every instance."""
    responses: list[httpx.Response] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def work() -> None:
        clients = [
            httpx.Client(base_url=g.url, timeout=30, headers={"Authorization": f"Bearer {key}"})
            for g in cluster.gateways
        ]
        for n in counter:
            response = clients[n % len(clients)].post(
                "/v1/chat/completions", json={"model": "fake/gpt", "messages": [USER]}
            )
            with lock:
                responses.append(response)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_a_rate_limit_holds_across_instances(cluster: Cluster) -> None:
    with cluster.admin(0) as admin:
        key = admin.post("/admin/v1/keys", json={"name": "limited", "rpm_limit": 60}).json()
    wait_until(lambda: all(cluster.status(i, key["secret"]) == 200 for i in range(3)))
    responses = hammer(cluster, key["secret"], total=100, workers=20)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 60
    assert statuses.count(429) == 40
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["x-ratelimit-limit-requests"] == "60"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(refused.headers["retry-after"]) >= 1
    served = next(r for r in responses if r.status_code == 200)
    assert int(served.headers["x-ratelimit-remaining-requests"]) < 60


def test_a_budget_holds_across_instances(cluster: Cluster) -> None:
    per_request = 400_000_000  # pUSD: 100 prompt (40 cached) + 20 completion at the test prices
    limit_usd, workers = 0.004, 12  # ten requests' worth
    with cluster.admin(0) as admin:
        key = admin.post("/admin/v1/keys", json={"name": "thrifty"}).json()
        admin.put(f"/admin/v1/budgets/key/{key['id']}", json={"daily_usd": limit_usd})
    wait_until(lambda: all(cluster.status(i, key["secret"]) == 200 for i in range(3)))
    responses = hammer(cluster, key["secret"], total=60, workers=workers)
    served = sum(r.status_code == 200 for r in responses)
    refused = [r for r in responses if r.status_code == 429]
    assert refused and refused[0].json()["error"]["code"] == "budget_exceeded"
    rows = wait_until(
        lambda: (
            (
                rows := query(
                    cluster.database_url,
                    "SELECT cost_pusd FROM usage WHERE caller_id = ? AND status = 200",
                    str(key["id"]),
                )
            )
            and len(rows) == served
            and rows
        ),
        timeout=10,
    )
    spent = sum(int(r["cost_pusd"]) for r in rows)  # type: ignore[call-overload]
    limit = int(limit_usd * 10**12)
    assert limit <= spent <= limit + workers * per_request
