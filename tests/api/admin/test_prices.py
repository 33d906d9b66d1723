"""Price history: ``/admin/v1/models/{id}/prices``, prices set now and scheduled, the
listing switching at the instant, ledger rows naming the price they were charged at."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.inprocess import InProcess, in_process, until
from tests.utils.prices import cost_of
from tests.utils.upstreams import FakeUpstream

pytestmark = pytest.mark.anyio
MODEL = "acme/priced"
PRICES = f"/admin/v1/models/{MODEL}/prices"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


def _catalog(tmp_path: Path, upstream: FakeUpstream) -> Path:
    return write_catalog(
        tmp_path / "catalog.yaml",
        [
            entry(
                MODEL,
                cost={"prompt": 2, "completion": 8, "input_cache_read": 0.5},
                upstreams=[
                    {
                        "provider": "openai",
                        "base_url": f"{upstream.base_url}/v1",
                        "model": "usage-1000-200-500",
                    }
                ],
            ),
            entry("acme/other"),
        ],
    )


def _ledger(running: InProcess) -> list[dict[str, Any]]:
    path = running.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT request_id, at, model, price_id, cost_pusd, prompt_tokens, cached_tokens, "
            "completion_tokens FROM usage ORDER BY at"
        )
        return [dict(r) for r in rows]


async def _chat(running: InProcess) -> str:
    answer = await running.client.post(
        "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        headers=running.headers(),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.headers["x-request-id"])


async def _publiccost_of(running: InProcess) -> dict[str, Any]:
    found = await running.client.get(f"/v1/models/{MODEL}", headers=running.headers())
    return dict(found.json()["cost"])


async def test_history_starts_with_the_seeded_price_and_keeps_every_change(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    async with in_process(tmp_path, catalog_file=_catalog(tmp_path, upstream)) as running:
        client, admin = running.client, running.headers()
        first = (await client.get(PRICES, headers=admin)).json()
        assert first["object"] == "list" and first["model"] == MODEL
        [seeded] = first["data"]
        assert seeded["status"] == "current" and seeded["effective_until"] is None
        assert (seeded["prompt"], seeded["completion"], seeded["input_cache_read"]) == (2, 8, 0.5)
        assert seeded["set_by"]["kind"] == "system" and seeded["action"] == "model.create"

        # a merge patch that leaves the price alone adds no price
        patched = await client.patch(
            f"/admin/v1/models/{MODEL}", json={"description": "new words"}, headers=admin
        )
        assert patched.status_code == 200
        assert len((await client.get(PRICES, headers=admin)).json()["data"]) == 1

        # one that changes it does, and the old price ends where the new one begins
        patched = await client.patch(
            f"/admin/v1/models/{MODEL}", json={"cost": {"prompt": 3}}, headers=admin
        )
        assert patched.status_code == 200
        # and a price set through the prices endpoint
        made = await client.post(PRICES, json={"prompt": 4, "completion": 9}, headers=admin)
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "current" and made.json()["action"] == "price.set"
        rows = (await client.get(PRICES, headers=admin)).json()["data"]
        assert [(r["prompt"], r["status"]) for r in rows] == [
            (2, "past"),
            (3, "past"),
            (4, "current"),
        ]
        assert rows[0]["effective_until"] == rows[1]["effective_from"]
        assert rows[1]["effective_until"] == rows[2]["effective_from"]
        assert rows[2]["input_cache_read"] == 4  # no cache price given: the prompt price
        assert rows[2]["set_by"]["kind"] == "key"
        assert await _publiccost_of(running) == {
            "prompt": 4,
            "completion": 9,
            "input_cache_read": 4,
        }

        # a whole replacement keeps the history too
        model = (await client.get(f"/admin/v1/models/{MODEL}", headers=admin)).json()
        model["cost"] = {"prompt": 5, "completion": 10, "input_cache_read": 1}
        replaced = await client.put(f"/admin/v1/models/{MODEL}", json=model, headers=admin)
        assert replaced.status_code == 200, replaced.text
        rows = (await client.get(PRICES, headers=admin)).json()["data"]
        assert [r["prompt"] for r in rows] == [2, 3, 4, 5]
        assert [r["action"] for r in rows[1:]] == ["model.update", "price.set", "model.replace"]

        audit = (await client.get("/admin/v1/audit?entity=model", headers=admin)).json()
        assert "price.set" in {e["action"] for e in audit["data"]}


async def test_a_scheduled_price_switches_at_its_instant(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    async with in_process(tmp_path, catalog_file=_catalog(tmp_path, upstream)) as running:
        client, admin = running.client, running.headers()
        sent = [await _chat(running)]
        at = int(time.time()) + 3
        made = await client.post(
            PRICES,
            json={"prompt": 1, "completion": 2, "input_cache_read": 0.25, "effective_from": at},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        scheduled = made.json()
        assert scheduled["status"] == "scheduled" and scheduled["effective_from"] == at
        assert scheduled["action"] == "price.schedule"

        # the admin object shows what is coming; the public listing only the price in force
        stored = (await client.get(f"/admin/v1/models/{MODEL}", headers=admin)).json()
        assert stored["scheduled_prices"] == [
            {
                "effective_from": at,
                "prompt": 1,
                "completion": 2,
                "input_cache_read": 0.25,
                "input_cache_write": None,
            }
        ]
        assert await _publiccost_of(running) == {
            "prompt": 2,
            "completion": 8,
            "input_cache_read": 0.5,
        }
        listing = (await client.get("/v1/models", headers=admin)).text
        assert "scheduled" not in listing

        while time.time() < at - 0.3:  # requests before the instant...
            sent.append(await _chat(running))
        await until(lambda: time.time() >= at, timeout=5)
        assert await _publiccost_of(running) == {
            "prompt": 1,
            "completion": 2,
            "input_cache_read": 0.25,
        }
        for _ in range(3):  # ...and after it
            sent.append(await _chat(running))

        history = {r["id"]: r for r in (await client.get(PRICES, headers=admin)).json()["data"]}
        assert [r["status"] for r in history.values()] == ["past", "current"]
        rows = await until(lambda: (r := _ledger(running)) and len(r) == len(sent) and r)
        assert {r["request_id"] for r in rows} == set(sent)
        old, new = [r for r in rows if r["at"] < at], [r for r in rows if r["at"] >= at]
        assert old and len(new) == 3
        for row in rows:  # each row names the price in force when it began, and costs that
            price = history[row["price_id"]]
            assert price["effective_from"] <= row["at"]
            assert price["effective_until"] is None or row["at"] < price["effective_until"]
            assert row["cost_pusd"] == cost_of(row, price)
        assert {r["price_id"] for r in old} == {min(history)}
        assert {r["price_id"] for r in new} == {scheduled["id"]}

        # a report over the change: by price, each group at its price, and in all the
        # aggregates' total equals the sum of the rows
        day = time.strftime("%Y-%m-%d", time.gmtime())
        spend = "/admin/v1/reports/spend?start=2020-01-01&end=2099-12-31"
        by_price = (await client.get(f"{spend}&group_by=model,price", headers=admin)).json()
        groups = {g["price"]["id"]: g for g in by_price["data"]}
        assert set(groups) == {min(history), scheduled["id"]}
        for price_id, group in groups.items():
            mine = [r for r in rows if r["price_id"] == price_id]
            assert group["requests"] == len(mine)
            assert Decimal(group["cost_usd_exact"]) * 10**12 == sum(r["cost_pusd"] for r in mine)
            assert group["price"]["prompt"] == history[price_id]["prompt"]
        whole = (await client.get(f"{spend}&group_by=", headers=admin)).json()
        assert Decimal(whole["total"]["cost_usd_exact"]) * 10**12 == sum(
            r["cost_pusd"] for r in rows
        )
        assert whole["total"] == by_price["total"]
        usage = (await client.get(f"/admin/v1/usage?start={day}&end={day}", headers=admin)).json()
        assert sum(Decimal(repr(u["cost_usd"])) for u in usage["data"]) * 10**12 == sum(
            r["cost_pusd"] for r in rows
        )
        csv = await client.get(f"{spend}&group_by=price&format=csv", headers=admin)
        assert csv.text.splitlines()[0].startswith("price_id,price_prompt,price_completion")

        # the stored model has no schedule left; the admin listing agrees
        stored = (await client.get(f"/admin/v1/models/{MODEL}", headers=admin)).json()
        assert stored["scheduled_prices"] == [] and stored["cost"]["prompt"] == 1


async def test_scheduling_rules(tmp_path: Path, upstream: FakeUpstream) -> None:
    async with in_process(tmp_path, catalog_file=_catalog(tmp_path, upstream)) as running:
        client, admin = running.client, running.headers()
        past = await client.post(
            PRICES,
            json={"prompt": 1, "completion": 2, "effective_from": "2020-01-01"},
            headers=admin,
        )
        assert past.status_code == 400
        assert past.json()["error"]["param"] == "effective_from"
        assert past.json()["error"]["code"] == "price_in_past"

        later = int(time.time()) + 3600
        one = await client.post(
            PRICES,
            json={"prompt": 1, "completion": 2, "effective_from": later},
            headers=admin,
        )
        again = await client.post(  # the same instant: replaces it
            PRICES,
            json={"prompt": 7, "completion": 7, "effective_from": later},
            headers=admin,
        )
        assert one.status_code == again.status_code == 201
        rows = (await client.get(PRICES, headers=admin)).json()["data"]
        assert [(r["prompt"], r["status"]) for r in rows] == [
            (2, "current"),
            (1, "cancelled"),  # replaced: kept in the history, marked
            (7, "scheduled"),
        ]
        assert rows[0]["effective_until"] == later  # the cancelled one replaces nothing
        rows = [rows[0], rows[2]]

        # a merge patch that does not name the schedule keeps it
        await client.patch(f"/admin/v1/models/{MODEL}", json={"name": "Renamed"}, headers=admin)
        stored = (await client.get(f"/admin/v1/models/{MODEL}", headers=admin)).json()
        assert [p["prompt"] for p in stored["scheduled_prices"]] == [7]

        current = rows[0]["id"]
        refused = await client.delete(f"{PRICES}/{current}", headers=admin)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "price_in_effect"
        unknown = await client.delete(f"{PRICES}/999999", headers=admin)
        assert unknown.status_code == 404
        other = await client.delete(
            f"/admin/v1/models/acme/other/prices/{rows[1]['id']}", headers=admin
        )
        assert other.status_code == 404  # a price of another model
        cancelled = await client.delete(f"{PRICES}/{rows[1]['id']}", headers=admin)
        assert cancelled.status_code == 200
        assert cancelled.json() == {"id": rows[1]["id"], "object": "model.price", "deleted": True}
        rows = (await client.get(PRICES, headers=admin)).json()["data"]
        assert [r["status"] for r in rows] == ["current", "cancelled", "cancelled"]
        assert rows[2]["cancelled_at"] is not None and rows[0]["effective_until"] is None
        rows = [rows[0], rows[2]]
        twice = await client.delete(f"{PRICES}/{rows[1]['id']}", headers=admin)
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "price_cancelled"
        soon = await client.post(
            PRICES,
            json={"prompt": 1, "completion": 2, "effective_from": int(time.time()) + 1},
            headers=admin,
        )
        assert soon.status_code == 400 and soon.json()["error"]["code"] == "price_too_soon"

        # two admins scheduling at once: each price is kept (writes hold the model's row)
        base = int(time.time()) + 7200
        made = await asyncio.gather(
            *(
                client.post(
                    PRICES,
                    json={"prompt": i, "completion": i, "effective_from": base + i},
                    headers=admin,
                )
                for i in range(1, 7)
            )
        )
        assert [m.status_code for m in made] == [201] * 6
        rows = (await client.get(PRICES, headers=admin)).json()["data"]
        assert [r["prompt"] for r in rows if r["status"] == "scheduled"] == [1, 2, 3, 4, 5, 6]
        audit = (await client.get("/admin/v1/audit?entity=model", headers=admin)).json()
        actions = [e["action"] for e in audit["data"]]
        assert actions.count("price.schedule") == 8 and actions.count("price.cancel") == 1

        missing = await client.get("/admin/v1/models/acme/nothing/prices", headers=admin)
        assert missing.status_code == 404
        bad = await client.post(PRICES, json={"prompt": "1", "completion": 2}, headers=admin)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "prompt"
        user = await client.post("/admin/v1/keys", json={"name": "user"}, headers=admin)
        denied = await client.get(PRICES, headers=running.headers(user.json()["secret"]))
        assert denied.status_code == 403


def _kept(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a history row says for good (its status and end move on with time)."""
    return tuple(row[k] for k in ("id", "effective_from", "prompt", "set_at", "set_by", "action"))


async def test_history_survives_imports(tmp_path: Path, upstream: FakeUpstream) -> None:
    """Imports add a row when they change a price and none when they do not; a foreign
    import leaves a schedule alone; rows already there never change."""
    async with in_process(tmp_path) as running:  # the shipped catalog
        client, admin = running.client, running.headers()
        nano = "/admin/v1/models/openai/gpt-4.1-nano/prices"
        later = int(time.time()) + 3600
        await client.post(
            nano, json={"prompt": 1, "completion": 1, "effective_from": later}, headers=admin
        )
        await client.post(nano, json={"prompt": 0.2, "completion": 0.8}, headers=admin)
        before = (await client.get(nano, headers=admin)).json()["data"]
        assert [(r["prompt"], r["status"]) for r in before] == [
            (0.1, "past"),
            (0.2, "current"),
            (1, "scheduled"),
        ]

        openrouter = (
            Path(__file__).parents[2] / "fixtures" / "openrouter_models.json"
        ).read_bytes()
        imported = await client.post(
            "/admin/v1/models/import?format=openrouter",
            content=openrouter,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert imported.status_code == 200, imported.text
        after = (await client.get(nano, headers=admin)).json()["data"]
        assert [_kept(r) for r in after[:2]] == [_kept(r) for r in before[:2]]
        assert [(r["prompt"], r["status"], r["action"]) for r in after[2:]] == [
            (0.1, "current", "model.update"),  # OpenRouter's price, now
            (1, "scheduled", "price.schedule"),  # still coming
        ]
        again = await client.post(
            "/admin/v1/models/import?format=openrouter",
            content=openrouter,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert again.status_code == 200
        assert (await client.get(nano, headers=admin)).json()["data"] == after
