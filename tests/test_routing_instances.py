"""Three gateways on one PostgreSQL and one Redis: upstream health and provider quotas are
shared, so a failing upstream is avoided by every instance and a quota holds in sum."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import create_postgres_database, drop_postgres_database
from tests.utils.fleet import Member, fleet
from tests.utils.processes import Gateway, quantized_env, start_gateway, wait_until

SHARED_REDIS = "redis://127.0.0.1:6379/0"
HI = [{"role": "user", "content": "hi"}]


@dataclass
class Cluster:
    gateways: list[Gateway]
    admin_key: str
    members: dict[str, Member]

    def chat(self, index: int, model: str) -> httpx.Response:
        return httpx.post(
            f"{self.gateways[index].url}/v1/chat/completions",
            json={"model": model, "messages": HI},
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=30,
        )


def upstream(member: Member, **fields: object) -> dict[str, object]:
    return {
        "provider": "openai",
        "base_url": member.base_url,
        "model": "m",
        "name": member.name,
        **fields,
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("routing-cluster")
    with fleet("a", "b", "q", "r") as members:
        a, b, q, r = (members[n] for n in "abqr")
        catalog_file = write_catalog(
            workdir / "catalog.yaml",
            [
                entry("t/shared", upstreams=[upstream(a), upstream(b, tier=1)]),
                entry("t/quota", upstreams=[upstream(q, rpm=10), upstream(r, tier=1)]),
            ],
        )
        url = create_postgres_database()
        env = quantized_env(
            url,
            QUANTIZED_REDIS_URL=SHARED_REDIS,
            QUANTIZED_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
            QUANTIZED_CATALOG_FILE=str(catalog_file),
            QUANTIZED_BREAKER_FAILURES="3",
            QUANTIZED_BREAKER_COOLDOWN="3",
        )
        gateways = [start_gateway(env, workdir) for _ in range(3)]
        try:
            for gateway in gateways:
                wait_until(lambda g=gateway: httpx.get(f"{g.url}/readyz").json()["redis"] == "ok")
            admin_key = gateways[0].admin_key
            assert admin_key is not None
            yield Cluster(gateways, admin_key, members)
        finally:
            for gateway in gateways:
                gateway.stop()
            drop_postgres_database(url)


def test_a_failing_upstream_is_avoided_by_every_instance_then_probed_once(
    cluster: Cluster,
) -> None:
    a, b = cluster.members["a"], cluster.members["b"]
    a.status = 500
    for _ in range(3):  # three failures, all on the first instance
        assert cluster.chat(0, "t/shared").headers["x-quantized-upstream"] == "b"
    opened = time.monotonic()
    assert a.count == 3

    def others_avoid_it() -> bool:
        before = a.count
        for index in (1, 2):
            cluster.chat(index, "t/shared")
        return a.count == before

    wait_until(others_avoid_it, timeout=5)
    assert time.monotonic() - opened < 1.0  # every instance stopped within a second
    for index in (0, 1, 2) * 5:
        assert cluster.chat(index, "t/shared").headers["x-quantized-upstream"] == "b"
    seen = a.count

    a.status, a.delay = 200, 0.5  # recovered, slowly: the probe is still in flight for the rest
    time.sleep(max(0.0, 3.05 - (time.monotonic() - opened)))
    answers: list[httpx.Response] = []
    start = threading.Barrier(9)

    def one(index: int) -> None:
        start.wait()
        answers.append(cluster.chat(index, "t/shared"))

    threads = [threading.Thread(target=one, args=(i % 3,)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = Counter(answer.headers["x-quantized-upstream"] for answer in answers)
    assert a.count == seen + 1 and names["a"] == 1, names  # one probe, on one instance
    a.delay = 0.0
    wait_until(
        lambda: all(
            cluster.chat(i, "t/shared").headers["x-quantized-upstream"] == "a" for i in range(3)
        ),
        timeout=2,
    )
    assert b.count > 0


def test_a_provider_quota_holds_across_three_instances(cluster: Cluster) -> None:
    q, r = cluster.members["q"], cluster.members["r"]
    answers: list[httpx.Response] = []
    start = threading.Barrier(30)

    def one(index: int) -> None:
        start.wait()
        answers.append(cluster.chat(index, "t/quota"))

    threads = [threading.Thread(target=one, args=(i % 3,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer.status_code == 200 for answer in answers)
    assert (q.count, r.count) == (10, 20)
    names = Counter(answer.headers["x-quantized-upstream"] for answer in answers)
    assert names == Counter({"q": 10, "r": 20})
