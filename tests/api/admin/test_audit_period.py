"""The audit log by period: ``since`` and ``until`` are UTC days, both included."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.utils.inprocess import in_process

pytestmark = pytest.mark.anyio


async def test_the_audit_log_filters_by_day(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        client, admin = running.client, running.headers()
        made = await client.post("/admin/v1/keys", json={"name": "audited"}, headers=admin)
        assert made.status_code == 201
        today = dt.datetime.now(dt.UTC).date()
        yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)

        async def ids(**params: str) -> list[int]:
            answer = await client.get("/admin/v1/audit", params=params, headers=admin)
            assert answer.status_code == 200, answer.text
            return [entry["id"] for entry in answer.json()["data"]]

        everything = await ids()
        assert everything
        assert await ids(since=today.isoformat(), until=today.isoformat()) == everything
        assert await ids(since=yesterday.isoformat()) == everything
        assert await ids(until=yesterday.isoformat()) == []
        assert await ids(since=tomorrow.isoformat()) == []
        bad = await client.get("/admin/v1/audit", params={"since": "last week"}, headers=admin)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "since"
