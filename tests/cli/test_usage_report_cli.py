"""``quantized usage report``: a table, CSV or JSON, the same figures as the service."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest

from quantized.services.reports import exact_usd
from tests.usage.test_reports import DAYS, batches_of, sums_in_python, varied_records, write
from tests.utils.processes import quantized_env, run_cli


def test_reports_as_json_csv_and_a_table(database_url: str) -> None:
    records = varied_records(600, seed=3)
    asyncio.run(write(database_url, batches_of(records)))
    env = quantized_env(database_url, QUANTIZED_TIMEZONE="America/New_York")
    query = ("--start", DAYS[0], "--end", DAYS[-1], "--group-by", "team,upstream")

    as_json = json.loads(
        run_cli(
            "usage", "report", *query, "--period", "month", "--json", env=env, check=True
        ).stdout
    )
    assert as_json["timezone"] == "America/New_York" and as_json["period"] == "month"
    expected = sums_in_python(
        records, start_day=DAYS[0], end_day=DAYS[-1], group_by=("team", "upstream"), period="month"
    )
    found = {
        (row["period"], row["team"] and row["team"]["id"], row["upstream"]): row["requests"]
        for row in as_json["data"]
    }
    assert found == {key: value[0] for key, value in expected.items()}
    assert as_json["total"]["cost_usd_exact"] == exact_usd(sum(r.cost_pusd for r in records))

    as_csv = run_cli("usage", "report", *query, "--period", "month", "--csv", env=env, check=True)
    lines = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [line["cost_usd"] for line in lines] == [r["cost_usd_exact"] for r in as_json["data"]]
    assert list(lines[0])[:4] == ["period", "team_id", "team", "upstream"]

    table = run_cli("usage", "report", *query, "--team", "=platform", env=env, check=True).stdout
    header, *rows, total = table.splitlines()
    assert header.split()[:4] == ["TEAM", "ID", "TEAM", "UPSTREAM"]
    assert all(row.split()[:2] == ["2", "=platform"] for row in rows)  # no quote in a table
    team_total = sum(v[6] for k, v in expected.items() if k[1] == 2)
    assert total.startswith(f"total {exact_usd(team_total)} USD, ")
    assert total.endswith(f"{DAYS[0]} to {DAYS[-1]} (America/New_York)")

    classic = run_cli("usage", "--start", DAYS[0], "--end", DAYS[-1], "--json", env=env, check=True)
    assert sum(row["requests"] for row in json.loads(classic.stdout)["data"]) == 600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--group-by", "team,colour"), "group_by: unknown dimension 'colour'"),
        (("--start", "yesterday"), "start must be a date"),
        (("--caller", "key:03"), "invalid caller"),
        (("--team", "nobody"), "no team named 'nobody'"),
        (("--model", "a\x01b"), "model must be at most 200 characters"),
        (("--csv", "--json"), "--csv and --json exclude each other"),
    ],
)
def test_mistakes_are_one_line(sqlite_url: str, args: tuple[str, ...], message: str) -> None:
    result = run_cli("usage", "report", *args, env=quantized_env(sqlite_url))
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_help(sqlite_url: str) -> None:
    result = run_cli("usage", "report", "--help", env=quantized_env(sqlite_url))
    assert result.returncode == 0 and "--group-by" in result.stdout
    assert "report" in run_cli("usage", "--help", env=quantized_env(sqlite_url)).stdout
