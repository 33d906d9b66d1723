"""Spend reports over HTTP, from a real server on each database: the admin report as JSON
and CSV, a caller's own rows through ``/v1/usage``, and the errors."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from quantized.services.reports import exact_usd
from quantized.store.database import create_engine
from quantized.usage.ledger import UsageRecord
from tests.usage.test_reports import DAYS, batches_of, sums_in_python, varied_records, write
from tests.utils.databases import backend_database
from tests.utils.processes import Gateway, quantized_env, start_gateway

START, END = DAYS[0], DAYS[-1]


@dataclass
class Served:
    gateway: Gateway
    admin: dict[str, str]
    user: dict[str, str]
    user_id: str
    records: list[UsageRecord]

    def get(
        self, path: str, headers: dict[str, str] | None = None, /, **params: str
    ) -> httpx.Response:
        return httpx.get(
            self.gateway.url + path, params=params, headers=headers or self.admin, timeout=30
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("reports")
    with backend_database(request.param, workdir) as url:
        gateway = start_gateway(quantized_env(url, QUANTIZED_TIMEZONE="Europe/Paris"), workdir)
        try:
            admin = {"Authorization": f"Bearer {gateway.admin_key}"}
            made = httpx.post(
                f"{gateway.url}/admin/v1/keys", json={"name": "reader"}, headers=admin
            ).json()
            user_id = str(made["id"])
            records = [
                dataclasses.replace(r, caller_id=user_id)
                if (r.caller_kind, r.caller_id) == ("key", "17")
                else r
                for r in varied_records(1500, seed=11)
            ]
            asyncio.run(write(url, batches_of(records)))
            yield Served(
                gateway, admin, {"Authorization": f"Bearer {made['secret']}"}, user_id, records
            )
        finally:
            gateway.stop()


def sums(row: dict[str, Any]) -> tuple[int, ...]:
    cost = round(float(row["cost_usd_exact"]) * 10**12)  # exact: below 10**15 picodollars
    assert exact_usd(cost) == row["cost_usd_exact"]
    return (
        row["requests"],
        row["errors"],
        row["prompt_tokens"],
        row["cached_tokens"],
        row["cache_write_tokens"],
        row["completion_tokens"],
        cost,
    )


def test_the_admin_report_as_json(served: Served) -> None:
    response = served.get(
        "/admin/v1/reports/spend", start=START, end=END, group_by="team,model", period="month"
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["object"] == "spend_report" and report["timezone"] == "Europe/Paris"
    assert (report["group_by"], report["period"], report["has_more"]) == (
        ["team", "model"],
        "month",
        False,
    )
    expected = sums_in_python(
        served.records, start_day=START, end_day=END, group_by=("team", "model"), period="month"
    )
    found = {
        (row["period"], row["team"] and row["team"]["id"], row["model"]): sums(row)
        for row in report["data"]
    }
    assert found == expected
    assert report["total"]["requests"] == len(served.records)
    names = {row["team"]["name"] for row in report["data"] if row["team"]}
    assert names == {"ml", "=platform", "research é"}

    one = served.get(
        "/admin/v1/reports/spend",
        start=START,
        end=END,
        group_by="",
        team="ml",
        caller=f"key:{served.user_id}",
        person="bob",
    ).json()
    assert [sums(row) for row in one["data"]] == list(
        sums_in_python(
            served.records,
            start_day=START,
            end_day=END,
            group_by=(),
            period="total",
            team_id=1,
            caller=("key", served.user_id),
            person="bob",
        ).values()
    )


def test_the_admin_report_as_csv(served: Served) -> None:
    query = {"start": START, "end": END, "group_by": "team,key", "period": "week"}
    response = served.get("/admin/v1/reports/spend", format="csv", **query)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="spend-{START}-{END}-week.csv"'
    )
    lines = list(csv.DictReader(io.StringIO(response.text)))
    rows = served.get("/admin/v1/reports/spend", **query).json()["data"]
    assert len(lines) == len(rows) > 50
    assert list(lines[0]) == [
        "period",
        "team_id",
        "team",
        "caller",
        "requests",
        "errors",
        "prompt_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "completion_tokens",
        "cost_usd",
    ]
    for line, row in zip(lines, rows, strict=True):
        assert line["period"] == row["period"] and line["cost_usd"] == row["cost_usd_exact"]
        assert line["caller"] == f"{row['caller']['kind']}:{row['caller']['id']}"
        assert line["team"] == ("" if row["team"] is None else row["team"]["name"]).replace(
            "=platform", "'=platform"
        )
    assert {line["period"] for line in lines} >= {"2026-W48", "2026-W53", "2027-W01"}


def test_a_caller_sees_only_its_own_rows(served: Served) -> None:
    classic = served.get("/v1/usage", served.user, start=START, end=END)
    assert classic.status_code == 200
    body = classic.json()
    assert body["object"] == "usage" and body["caller"]["id"] == served.user_id
    mine = [r for r in served.records if (r.caller_kind, r.caller_id) == ("key", served.user_id)]
    assert sum(row["requests"] for row in body["data"]) == len(mine) > 100
    assert all("caller" not in row for row in body["data"])

    report = served.get(
        "/v1/usage", served.user, start=START, end=END, group_by="key,model", period="month"
    ).json()
    assert report["object"] == "spend_report"
    assert {(row["caller"]["kind"], row["caller"]["id"]) for row in report["data"]} == {
        ("key", served.user_id)
    }
    expected = sums_in_python(
        served.records,
        start_day=START,
        end_day=END,
        group_by=("key", "model"),
        period="month",
        caller=("key", served.user_id),
    )
    found = {
        (row["period"], ("key", served.user_id), row["model"]): sums(row) for row in report["data"]
    }
    assert found == expected

    as_csv = served.get("/v1/usage", served.user, start=START, end=END, format="csv")
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(lines[0])[:2] == ["period", "model"]  # by default per day and model
    assert sum(int(line["requests"]) for line in lines) == len(mine)


def test_the_admin_summary_reads_the_aggregates(served: Served) -> None:
    """``/admin/v1/usage`` sums the daily aggregates: rows no longer in the ledger count."""
    before = served.get("/admin/v1/usage", start=START, end=END)
    assert before.status_code == 200
    data = before.json()["data"]
    assert sum(row["requests"] for row in data) == len(served.records)
    assert set(data[0]) == {
        "day",
        "caller",
        "model",
        "requests",
        "prompt_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "completion_tokens",
        "cost_usd",
    }

    async def forget_the_raw_rows() -> None:
        engine = create_engine(served.gateway.env["QUANTIZED_DATABASE_URL"])
        try:
            async with engine.begin() as conn:
                await conn.exec_driver_sql("DELETE FROM usage WHERE day < '2026-12-01'")
        finally:
            await engine.dispose()

    asyncio.run(forget_the_raw_rows())
    after = served.get("/admin/v1/usage", start=START, end=END)
    assert after.json() == before.json()
    report = served.get("/admin/v1/reports/spend", start=START, end=END, group_by="").json()
    assert report["total"]["requests"] == len(served.records)
    total = sum(r.cost_pusd for r in served.records)
    assert report["total"]["cost_usd_exact"] == exact_usd(total)


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/admin/v1/reports/spend", "group_by=team,colour", "group_by"),
        ("/admin/v1/reports/spend", "group_by=team%2C", "group_by"),
        ("/admin/v1/reports/spend", "period=year", "period"),
        ("/admin/v1/reports/spend", "start=2026-02-30", "start"),
        ("/admin/v1/reports/spend", "caller=key:03", "caller"),
        ("/admin/v1/reports/spend", "format=xml", "format"),
        ("/admin/v1/reports/spend", "limit=0", "limit"),
        ("/admin/v1/reports/spend", "person=a%00b", "person"),
        ("/admin/v1/reports/spend", "colour=red", "colour"),
        ("/v1/usage", "group_by=everything", "group_by"),
        ("/v1/usage", "period=fortnight", "period"),
    ],
)
def test_bad_parameters_are_400s_naming_them(
    served: Served, path: str, query: str, param: str
) -> None:
    response = httpx.get(f"{served.gateway.url}{path}?{query}", headers=served.admin)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert set(error) == {"message", "type", "param", "code"}


def test_an_unknown_team_is_a_404_and_callers_are_not_admins(served: Served) -> None:
    missing = served.get("/admin/v1/reports/spend", team="nobody")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "team_not_found"
    refused = served.get("/admin/v1/reports/spend", served.user)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admin_required"
    anonymous = httpx.get(f"{served.gateway.url}/admin/v1/reports/spend")
    assert anonymous.status_code == 401


def test_the_document_declares_the_report(served: Served) -> None:
    document = httpx.get(f"{served.gateway.url}/openapi.json").json()
    operation = document["paths"]["/admin/v1/reports/spend"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content["text/csv"]["schema"] == {"type": "string"}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/SpendReport"}
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404"}
    names = {p["name"] for p in operation["parameters"]}
    assert names == {
        "start",
        "end",
        "group_by",
        "period",
        "team",
        "person",
        "caller",
        "model",
        "upstream",
        "format",
        "limit",
    }
