"""``POST /admin/v1/models/import?dry_run=true``: what an import would change, writing nothing.

In process: the preview is checked exactly as the import is (the same errors), lists the
models it would add, change (field by field) and leave alone, and touches neither the
catalog, the audit log nor the change log other servers follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from quantized.store import changes
from quantized.store.database import connection
from tests.utils.callers import assert_error
from tests.utils.catalogs import entry
from tests.utils.inprocess import InProcess, in_process

pytestmark = pytest.mark.anyio
IMPORT = "/admin/v1/models/import"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


async def snapshot(running: InProcess) -> tuple[Any, Any, int]:
    """The whole catalog, the newest audit entry and the change log's newest id."""
    client, admin = running.client, running.headers()
    models = (await client.get("/admin/v1/models", headers=admin)).json()
    audit = (await client.get("/admin/v1/audit", params={"limit": 1}, headers=admin)).json()
    async with connection(running.app.runtime.engine) as conn:
        latest = await changes.latest_id(conn)
    return models, audit["data"], latest


async def post(
    running: InProcess, document: Any, *, dry_run: bool = True, **params: str
) -> httpx.Response:
    if dry_run:
        params["dry_run"] = "true"
    return await running.client.post(
        IMPORT, params=params, json=document, headers=running.headers()
    )


async def test_preview_lists_added_changed_and_unchanged_and_writes_nothing(
    tmp_path: Path,
) -> None:
    async with in_process(tmp_path) as running:
        client, admin = running.client, running.headers()
        for model_id in ("acme/same", "acme/moved"):
            created = await client.post("/admin/v1/models", json=entry(model_id), headers=admin)
            assert created.status_code == 201, created.text
        moved = entry(
            "acme/moved",
            status="deprecated",
            cost={"prompt": 2, "completion": 4, "input_cache_read": 0.25},
            price_source={"url": "https://acme.example/pricing", "checked": "2026-01-02"},
            aliases=["moved-1"],
        )
        document = {"models": [entry("acme/new"), entry("acme/same"), moved]}
        before = await snapshot(running)

        preview = await post(running, document)

        assert preview.status_code == 200, preview.text
        assert preview.json() == {
            "object": "catalog.import_preview",
            "format": "quantized",
            "dry_run": True,
            "added": ["acme/new"],
            "changed": [
                {
                    "id": "acme/moved",
                    "fields": {
                        "aliases": {"old": [], "new": ["moved-1"]},
                        "status": {"old": "active", "new": "deprecated"},
                        "cost.prompt": {"old": 1, "new": 2},
                        "price_source": {
                            "old": None,
                            "new": {
                                "url": "https://acme.example/pricing",
                                "checked": "2026-01-02",
                                "via": None,
                                "note": None,
                            },
                        },
                    },
                }
            ],
            "unchanged": ["acme/same"],
            "skipped": [],
            "aliases_skipped": [],
        }
        assert await snapshot(running) == before

        done = await post(running, document, dry_run=False)
        assert done.status_code == 200, done.text
        assert (done.json()["inserted"], done.json()["updated"]) == (1, 2)
        again = (await post(running, document)).json()
        assert again["added"] == [] and again["changed"] == []
        assert again["unchanged"] == ["acme/new", "acme/same", "acme/moved"]


async def test_nested_fields_are_dotted_and_a_false_dry_run_imports(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        client, admin = running.client, running.headers()
        source = {"url": "https://acme.example/a", "checked": "2026-01-02"}
        stored = entry("acme/deep", price_source=source)
        await client.post("/admin/v1/models", json=stored, headers=admin)
        changed = {
            **stored,
            "price_source": {**source, "checked": "2026-03-04"},
            "cost": {"prompt": 1, "completion": 4, "input_cache_write": 1.25},
        }
        preview = (await post(running, [changed])).json()
        assert preview["changed"] == [
            {
                "id": "acme/deep",
                "fields": {
                    "cost.input_cache_read": {"old": 0.25, "new": 1},
                    "cost.input_cache_write": {"old": None, "new": 1.25},
                    "price_source.checked": {"old": "2026-01-02", "new": "2026-03-04"},
                },
            }
        ]
        imported = await client.post(
            IMPORT, params={"dry_run": "false"}, json=[changed], headers=admin
        )
        assert imported.json()["object"] == "catalog.import"
        after = (await client.get("/admin/v1/models/acme/deep", headers=admin)).json()
        assert after["price_source"]["checked"] == "2026-03-04"


async def test_foreign_formats_preview_what_the_import_does(tmp_path: Path) -> None:
    body = (FIXTURES / "openrouter_models.json").read_bytes()
    async with in_process(tmp_path) as running:
        client, admin = running.client, running.headers()
        headers = {**admin, "content-type": "application/json"}
        params = {"format": "openrouter"}
        before = await snapshot(running)
        preview = await client.post(
            IMPORT, params={**params, "dry_run": "true"}, content=body, headers=headers
        )
        assert preview.status_code == 200, preview.text
        assert await snapshot(running) == before
        shown = preview.json()
        imported = (await client.post(IMPORT, params=params, content=body, headers=headers)).json()
        would = shown["added"] + [c["id"] for c in shown["changed"]] + shown["unchanged"]
        assert sorted(would) == sorted(imported["models"])
        assert len(shown["added"]) == imported["inserted"]
        assert shown["skipped"] == imported["skipped"]
        assert shown["aliases_skipped"] == imported["aliases_skipped"]


@pytest.mark.parametrize(
    ("params", "content", "status", "param"),
    [
        (
            {},
            b'{"models": [{"id": "acme/x", "name": "X", "cost": {"prompt": -1, "completion": 1}}]}',
            400,
            "models[0].cost.prompt",
        ),
        ({}, b"{not: [valid", 400, None),
        (
            {},
            b'{"models": [{"id": "acme/a", "name": "A", "cost": {"prompt": 1, '
            b'"completion": 1}}, {"id": "acme/a", "name": "A", "cost": {"prompt": 1, '
            b'"completion": 1}}]}',
            400,
            "models[1].id",
        ),
        ({"format": "openrouter"}, b'{"data": 3}', 400, None),
        ({"format": "litellm"}, b"[1, 2]", 400, None),
        ({"format": "csv"}, b"{}", 400, "format"),
        (
            {},
            b'{"models": [{"id": "acme/b", "name": "B", "aliases": ["openai/gpt-4.1-nano"], '
            b'"cost": {"prompt": 1, "completion": 1}}]}',
            409,
            "models[0].aliases",
        ),
    ],
)
async def test_a_bad_file_is_the_same_error_as_the_real_import(
    tmp_path: Path, params: dict[str, str], content: bytes, status: int, param: str | None
) -> None:
    async with in_process(tmp_path) as running:
        headers = {**running.headers(), "content-type": "application/json"}
        before = await snapshot(running)
        answers = []
        for extra in ({"dry_run": "true"}, {}):
            answers.append(
                await running.client.post(
                    IMPORT, params={**params, **extra}, content=content, headers=headers
                )
            )
        preview, real = answers
        assert_error(preview, status, param)
        assert (preview.status_code, preview.json()) == (real.status_code, real.json())
        assert await snapshot(running) == before


async def test_dry_run_takes_a_boolean(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        answer = await running.client.post(
            IMPORT, params={"dry_run": "maybe"}, json={"models": []}, headers=running.headers()
        )
        assert_error(answer, 400, "dry_run")
