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


def worst_case_pusd(body: bytes, max_tokens: int) -> int:
    """What the gateway reserves for ``body`` (see ``gateway.worst_case``), worked out here:
    prompt tokens at the dearer of the prompt and cache-write prices (2.5 and 3.125 USD per
    million), completion at 10."""
    prompt = -(-len(body) // 3)
    return prompt * 3_125_000 + max_tokens * 10_000_000


def fire(cluster: Cluster, keys: list[str], body: bytes, total: int) -> list[httpx.Response]:
    """``total`` chat requests at once, one thread each, spread over instances and keys."""
    responses: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(total)

    def one(n: int) -> None:
        gateway = cluster.gateways[n % len(cluster.gateways)]
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            start.wait()
            response = client.post(
                "/v1/chat/completions",
                content=body,
                headers={
                    "Authorization": f"Bearer {keys[n % len(keys)]}",
                    "Content-Type": "application/json",
                },
            )
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(total)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def settled_spend(cluster: Cluster, ids: list[str], served: int) -> int:
    rows = wait_until(
        lambda: (
            (
                rows := query(
                    cluster.database_url,
                    "SELECT cost_pusd FROM usage WHERE caller_id IN ("  # noqa: S608 - placeholders
                    + ", ".join("?" * len(ids))
                    + ") AND status = 200",
                    *ids,
                )
            )
            and len(rows) == served
            and rows
        ),
        timeout=10,
    )
    return sum(int(r["cost_pusd"]) for r in rows)  # type: ignore[call-overload]


def test_a_budget_holds_across_instances(cluster: Cluster) -> None:
    """The issue's test: a budget with room for exactly ten requests' worst case, 100
    concurrent requests over three instances: ten are served, the spend stays within it."""
    body = (
        b'{"model": "fake/slow", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}'
    )
    worst = worst_case_pusd(body, 20)
    with cluster.admin(0) as admin:
        key = admin.post("/admin/v1/keys", json={"name": "thrifty"}).json()
        created = admin.post(
            "/admin/v1/budgets",
            json={"scope": f"key:{key['id']}", "period": "day", "limit_usd": worst * 10 / 10**12},
        )
        assert created.status_code == 201, created.text
        assert created.json()["limit_usd"] * 10**12 == pytest.approx(worst * 10, abs=1)
    wait_until(lambda: all(cluster.status(i, key["secret"]) == 200 for i in range(3)))
    responses = fire(cluster, [key["secret"]], body, total=100)  # fake/slow answers in 3 s
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 90
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert "reserved by requests in flight" in refused.json()["error"]["message"]
    assert settled_spend(cluster, [str(key["id"])], 10) <= worst * 10
    # settled: the reservations are released, what is left is the limit less the spend
    with cluster.admin(1) as admin:
        listed = admin.get("/admin/v1/budgets").json()["data"]
    mine = next(b for b in listed if b["scope"]["id"] == str(key["id"]))
    assert mine["reserved_usd"] == 0


def test_a_team_budget_holds_for_all_its_keys_across_instances(cluster: Cluster) -> None:
    body = (
        b'{"model": "fake/slow", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}'
    )
    worst = worst_case_pusd(body, 10)
    with cluster.admin(0) as admin:
        team = admin.post("/admin/v1/teams", json={"name": "frugal"}).json()
        keys = [
            admin.post("/admin/v1/keys", json={"name": f"frugal-{n}", "team_id": team["id"]}).json()
            for n in range(4)
        ]
        budget = {"scope": f"team:{team['id']}", "period": "month", "limit_usd": worst * 6 / 10**12}
        assert admin.post("/admin/v1/budgets", json=budget).status_code == 201
    secrets = [k["secret"] for k in keys]
    wait_until(lambda: all(cluster.status(i, s) == 200 for i in range(3) for s in secrets))
    responses = fire(cluster, secrets, body, total=40)
    assert [r.status_code for r in responses].count(200) == 6
    refused = next(r for r in responses if r.status_code == 429).json()["error"]
    assert f"monthly budget of team {team['id']} for all models" in refused["message"]
    assert settled_spend(cluster, [str(k["id"]) for k in keys], 6) <= worst * 6
