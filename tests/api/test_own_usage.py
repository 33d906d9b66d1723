"""``GET /v1/usage`` tells callers who they are and what their own budget allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.inprocess import in_process

pytestmark = pytest.mark.anyio


async def test_a_caller_sees_whether_it_is_an_admin_and_its_own_budget(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        client, admin = running.client, running.headers()
        made = (await client.post("/admin/v1/keys", json={"name": "u"}, headers=admin)).json()
        user = running.headers(made["secret"])

        mine = (await client.get("/v1/usage", headers=admin)).json()
        assert mine["caller"]["admin"] is True and mine["budget"] is None
        theirs = (await client.get("/v1/usage", headers=user)).json()
        assert theirs["caller"] == {"kind": "key", "id": str(made["id"]), "admin": False}
        assert theirs["budget"] is None

        path = f"/admin/v1/budgets/key/{made['id']}"
        put = await client.put(path, json={"daily_usd": 2.5}, headers=admin)
        assert put.status_code == 200
        budget = (await client.get("/v1/usage", headers=user)).json()["budget"]
        assert budget == {
            "caller": {"kind": "key", "id": str(made["id"])},
            "daily_usd": 2.5,
            "monthly_usd": None,
            "spent_today_usd": 0,
            "spent_this_month_usd": 0,
        }
        assert (await client.get("/v1/usage", headers=admin)).json()["budget"] is None
