"""Two gateways on one PostgreSQL: a price scheduled on one takes effect on both at its
instant, with no restart; every request is charged one price, the one in force when it
began, and its ledger row names it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import create_postgres_database, drop_postgres_database, query
from tests.utils.prices import cost_of
from tests.utils.processes import Gateway, quantized_env, start_gateway, wait_until
from tests.utils.upstreams import FakeUpstream

MODEL = "acme/switch"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Gateway], str, str]]:
    workdir: Path = tmp_path_factory.mktemp("price-pair")
    fake = FakeUpstream().start()
    catalog_file = write_catalog(
        workdir / "catalog.yaml",
        [
            entry(
                MODEL,
                cost={"prompt": 3, "completion": 15, "input_cache_read": 0.3},
                upstreams=[
                    {
                        "provider": "openai",
                        "base_url": f"{fake.base_url}/v1",
                        "model": "usage-1200-300-700",
                    }
                ],
            )
        ],
    )
    url = create_postgres_database()
    env = quantized_env(url, QUANTIZED_CATALOG_FILE=str(catalog_file))
    gateways = [start_gateway(env, workdir) for _ in range(2)]
    try:
        admin_key = gateways[0].admin_key
        assert admin_key is not None
        yield gateways, admin_key, url
    finally:
        for gateway in gateways:
            gateway.stop()
        fake.stop()
        drop_postgres_database(url)


def test_a_scheduled_price_switches_on_both_instances_at_its_instant(
    pair: tuple[list[Gateway], str, str],
) -> None:
    gateways, admin_key, url = pair
    headers = {"Authorization": f"Bearer {admin_key}"}
    at = int(time.time()) + 3
    made = httpx.post(
        f"{gateways[0].url}/admin/v1/models/{MODEL}/prices",
        json={"prompt": 2, "completion": 10, "input_cache_read": 0.2, "effective_from": at},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    new_id = made.json()["id"]

    def public_prompt(gateway: Gateway) -> float:
        found = httpx.get(f"{gateway.url}/v1/models/{MODEL}", headers=headers)
        return float(found.json()["cost"]["prompt"])

    # the other instance learns of the schedule without listing it before its time
    wait_until(
        lambda: httpx.get(f"{gateways[1].url}/admin/v1/models/{MODEL}", headers=headers).json()[
            "scheduled_prices"
        ]
    )
    assert [public_prompt(g) for g in gateways] == [3, 3]

    sent: list[str] = []
    failures: list[str] = []
    stop = at + 1.5

    def hammer(gateway: Gateway) -> None:
        with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as client:
            while time.time() < stop:
                answer = client.post("/v1/chat/completions", json={"model": MODEL, "messages": HI})
                if answer.status_code != 200:
                    failures.append(answer.text)
                sent.append(answer.headers["x-request-id"])

    threads = [threading.Thread(target=hammer, args=(g,)) for g in gateways for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert [public_prompt(g) for g in gateways] == [2, 2]  # switched, no restart

    history = httpx.get(f"{gateways[1].url}/admin/v1/models/{MODEL}/prices", headers=headers)
    prices = {p["id"]: p for p in history.json()["data"]}
    [old_id] = [i for i in prices if i != new_id]
    assert prices[new_id]["effective_from"] == at

    def ledger() -> list[dict[str, Any]] | None:
        rows = query(url, "SELECT * FROM usage WHERE model = ? ORDER BY at", MODEL)
        return rows if len(rows) == len(sent) else None

    rows = wait_until(ledger, timeout=10)
    assert rows is not None and {r["request_id"] for r in rows} == set(sent)
    before = [r for r in rows if r["at"] < at]
    after = [r for r in rows if r["at"] >= at]
    assert len(before) > 20 and len(after) > 20  # both sides of the instant, each instance
    for row in before:
        assert row["price_id"] == old_id and row["cost_pusd"] == cost_of(row, prices[old_id])
    for row in after:
        assert row["price_id"] == new_id and row["cost_pusd"] == cost_of(row, prices[new_id])
    assert cost_of(rows[0], prices[old_id]) != cost_of(rows[0], prices[new_id])

    # a report over the change, on PostgreSQL: a group per price, each the sum of its rows
    report = httpx.get(
        f"{gateways[0].url}/admin/v1/reports/spend",
        params={"start": "2020-01-01", "end": "2099-12-31", "group_by": "model,price"},
        headers=headers,
    ).json()
    groups = {g["price"]["id"]: g for g in report["data"]}
    assert set(groups) == {old_id, new_id}
    for price_id, group in groups.items():
        mine = [r for r in rows if r["price_id"] == price_id]
        assert group["requests"] == len(mine)
        assert Decimal(group["cost_usd_exact"]) * 10**12 == sum(int(r["cost_pusd"]) for r in mine)
    total = sum(int(r["cost_pusd"]) for r in rows)
    assert Decimal(report["total"]["cost_usd_exact"]) * 10**12 == total
    own = httpx.get(
        f"{gateways[1].url}/v1/usage",
        params={"start": "2020-01-01", "end": "2099-12-31", "group_by": "price"},
        headers=headers,
    )
    assert own.status_code == 200, own.text
    assert {g["price"]["id"] for g in own.json()["data"]} == {old_id, new_id}
