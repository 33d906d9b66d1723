"""Changes made by another process (the CLI) reach a running server without a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.keys import create_key, key_works
from tests.utils.processes import Gateway, quantized_env, run_cli, start_gateway, wait_until

DEADLINE = 2.0  # seconds, as promised


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Gateway]:
    env = quantized_env(database_url, QUANTIZED_REFRESH_INTERVAL="0.5")
    gateway = start_gateway(env, tmp_path)
    yield gateway
    gateway.stop()


def timed(probe: object) -> float:
    started = time.monotonic()
    wait_until(probe, timeout=10, interval=0.02)  # type: ignore[arg-type]
    return time.monotonic() - started


def test_revoked_key_stops_working_within_two_seconds(server: Gateway) -> None:
    key = create_key(server.env, "--name", "soon-revoked")
    wait_until(lambda: key_works(server, key), timeout=5)
    (row,) = [
        k
        for k in json.loads(run_cli("keys", "list", "--json", env=server.env).stdout)
        if k["name"] == "soon-revoked"
    ]
    run_cli("keys", "revoke", str(row["id"]), env=server.env, check=True)
    assert timed(lambda: not key_works(server, key)) < DEADLINE


def test_new_key_works_within_two_seconds(server: Gateway) -> None:
    key = create_key(server.env, "--name", "fresh")
    assert timed(lambda: key_works(server, key)) < DEADLINE


def test_imported_catalog_is_listed_within_two_seconds(server: Gateway, tmp_path: Path) -> None:
    assert server.admin_key
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    before = httpx.get(f"{server.url}/v1/models", headers=headers).json()
    price_target = before[0]["id"]
    catalog = write_catalog(
        tmp_path / "more.yaml",
        [
            entry("newcorp/brand-new"),
            entry(price_target, name=before[0]["name"], cost={"prompt": 123, "completion": 456}),
            entry("oldcorp/retired", status="disabled"),
        ],
    )
    run_cli("models", "import", str(catalog), env=server.env, check=True)

    def updated() -> bool:
        listing = {m["id"]: m for m in httpx.get(f"{server.url}/v1/models", headers=headers).json()}
        return "newcorp/brand-new" in listing and listing[price_target]["cost"]["prompt"] == 123

    assert timed(updated) < DEADLINE
    listing = httpx.get(f"{server.url}/v1/models", headers=headers).json()
    assert "oldcorp/retired" not in {m["id"] for m in listing}
    assert len(listing) == len(before) + 1
    missing = httpx.get(f"{server.url}/v1/models/oldcorp/retired", headers=headers)
    assert missing.status_code == 404


def test_admin_api_changes_reach_another_process_within_a_second(tmp_path: Path) -> None:
    env = quantized_env(f"sqlite:///{tmp_path / 'shared.db'}", QUANTIZED_REFRESH_INTERVAL="0.5")
    first = start_gateway(env, tmp_path)
    second = start_gateway(env, tmp_path)
    try:
        assert first.admin_key and second.admin_key is None
        admin = httpx.Client(
            base_url=first.url, headers={"Authorization": f"Bearer {first.admin_key}"}
        )
        target = admin.get("/v1/models").json()[0]["id"]

        def seen_on_second(key: str, check: object) -> float:
            return timed(
                lambda: check(
                    httpx.get(
                        f"{second.url}/v1/models",  # type: ignore[operator]
                        headers={"Authorization": f"Bearer {key}"},
                    )
                )
            )

        admin.patch(f"/admin/v1/models/{target}", json={"cost": {"prompt": 4242}})
        assert (
            seen_on_second(
                first.admin_key,
                lambda r: {m["id"]: m for m in r.json()}[target]["cost"]["prompt"] == 4242,
            )
            < 1.0
        )
        key = admin.post("/admin/v1/keys", json={"name": "cross"}).json()
        assert seen_on_second(key["secret"], lambda r: r.status_code == 200) < 1.0
        admin.post(f"/admin/v1/keys/{key['id']}/revoke")
        assert seen_on_second(key["secret"], lambda r: r.status_code == 401) < 1.0
        admin.delete(f"/admin/v1/models/{target}")
        assert (
            seen_on_second(first.admin_key, lambda r: target not in {m["id"] for m in r.json()})
            < 1.0
        )
    finally:
        first.stop()
        second.stop()
