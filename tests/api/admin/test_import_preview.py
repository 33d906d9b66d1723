"""``POST /admin/v1/models/import?dry_run=true``: what an import would change, writing nothing.

In process: the preview is checked exactly as the import is (the same errors), lists the
models it would add, change (field by field, prices with their relative change), keep by
pins, remove (``missing=``) and skip, and touches neither the catalog, the audit log nor
the change log other servers follow; the import then does exactly that, within ``only=``
and ``models=``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from quantized.catalog.diff import ONLY_STORED
from quantized.catalog.document import model_to_entry
from quantized.catalog.importers import parse_foreign
from quantized.store import changes
from quantized.store.database import connection
from tests.utils.callers import assert_error
from tests.utils.catalogs import entry, write_catalog
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
    running: InProcess, document: Any, *, dry_run: bool | str = True, **params: str
) -> httpx.Response:
    if dry_run is True:
        params["dry_run"] = "true"
    elif dry_run:
        params["dry_run"] = dry_run
    return await running.client.post(
        IMPORT, params=params, json=document, headers=running.headers()
    )


async def test_preview_lists_added_changed_and_unchanged_and_writes_nothing(
    tmp_path: Path,
) -> None:
    seed = write_catalog(tmp_path / "seed.yaml", [entry("acme/same"), entry("acme/moved")])
    async with in_process(tmp_path, catalog_file=seed) as running:
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
                        "cost.prompt": {"old": 1, "new": 2, "relative": 1.0},
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
            "pinned": [],
            "removed": [],
            "unchanged": ["acme/same"],
            "skipped": [],
            "aliases_skipped": [],
        }
        assert await snapshot(running) == before

        done = await post(running, document, dry_run=False)
        assert done.status_code == 200, done.text
        counts = ("inserted", "updated", "unchanged", "removed", "deprecated", "deleted")
        assert [done.json()[c] for c in counts] == [1, 1, 1, 0, 0, 0]
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
                    "cost.input_cache_read": {"old": 0.25, "new": 1, "relative": 3.0},
                    "cost.input_cache_write": {"old": None, "new": 1.25, "relative": None},
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


FORMATS = {
    "quantized": "quantized_models.yaml",
    "openrouter": "openrouter_models.json",
    "litellm": "litellm_model_prices.json",
}


async def listing(running: InProcess) -> bytes:
    """``GET /admin/v1/models``, byte for byte."""
    answer = await running.client.get("/admin/v1/models", headers=running.headers())
    assert answer.status_code == 200, answer.text
    return answer.content


async def send(running: InProcess, body: bytes, **params: str) -> dict[str, Any]:
    headers = {**running.headers(), "content-type": "application/json"}
    answer = await running.client.post(IMPORT, params=params, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def change(old: float, new: float) -> dict[str, float]:
    return {"old": old, "new": new, "relative": round((new - old) / old, 6)}


@pytest.mark.parametrize("format_", sorted(FORMATS))
async def test_each_format_previews_exactly_what_its_import_does(
    tmp_path: Path, format_: str
) -> None:
    """Against each importer's fixture: a stored model whose prompt price differs (changed)
    and whose completion price is pinned (kept), a stored model the source lacks (removed),
    the source's other models (added), the importer's skipped entries."""
    body = (FIXTURES / FORMATS[format_]).read_bytes()
    source = parse_foreign(format_, body, now=int(time.time()))
    kept, added = source.models[0], [m.id for m in source.models[1:]]
    prompt, completion = kept.cost.prompt, kept.cost.completion
    stored = model_to_entry(kept)
    stored["cost"] = {**stored["cost"], "prompt": prompt * 2, "completion": completion + 1}
    stored["pinned"] = ["cost.completion"]
    seed = write_catalog(tmp_path / "seed.yaml", [stored, entry("acme/stale")])
    skipped = [{"name": s.name, "reason": s.reason} for s in source.skipped]
    assert skipped or format_ == "quantized"  # our format skips nothing
    async with in_process(tmp_path, catalog_file=seed) as running:
        before, audit_before = await listing(running), await snapshot(running)

        shown = await send(running, body, format=format_, missing="deprecate", dry_run="true")

        assert shown["added"] == added
        assert shown["changed"] == [
            {"id": kept.id, "fields": {"cost.prompt": change(prompt * 2, prompt)}}
        ]
        assert shown["pinned"] == [
            {"id": kept.id, "fields": {"cost.completion": change(completion + 1, completion)}}
        ]
        assert shown["removed"] == [
            {"id": "acme/stale", "status": "active", "action": "deprecate", "note": None}
        ]
        assert (shown["unchanged"], shown["skipped"]) == ([], skipped)
        only = await send(running, body, format=format_, only="cost", dry_run="true")
        assert only["added"] == [] and [c["id"] for c in only["changed"]] == [kept.id]
        assert only["skipped"] == skipped + [{"name": i, "reason": ONLY_STORED} for i in added]
        assert await listing(running) == before  # a dry run changes nothing
        assert await snapshot(running) == audit_before

        done = await send(running, body, format=format_, missing="deprecate")

        counts = ("inserted", "updated", "unchanged", "removed", "deprecated", "deleted")
        assert [done[c] for c in counts] == [len(added), 1, 0, 1, 1, 0]
        assert done["models"] == [kept.id, *added] and done["skipped"] == skipped
        client, admin = running.client, running.headers()
        now = (await client.get(f"/admin/v1/models/{kept.id}", headers=admin)).json()
        assert (now["cost"]["prompt"], now["cost"]["completion"]) == (prompt, completion + 1)
        stale = (await client.get("/admin/v1/models/acme/stale", headers=admin)).json()
        assert stale["status"] == "deprecated"
        again = await send(running, body, format=format_, missing="deprecate", dry_run="true")
        assert (again["added"], again["changed"]) == ([], [])
        assert again["pinned"] == shown["pinned"]
        assert again["removed"] == [
            {
                "id": "acme/stale",
                "status": "deprecated",
                "action": "keep",
                "note": "already deprecated",
            }
        ]


async def test_models_and_only_limit_an_import_and_missing_deletes(tmp_path: Path) -> None:
    seed = write_catalog(
        tmp_path / "seed.yaml",
        [entry("acme/a"), entry("acme/gone"), entry("other/gone"), entry("other/b")],
    )
    document = {
        "models": [
            entry("acme/a", name="Renamed", cost={"prompt": 3, "completion": 4}),
            entry("acme/new"),
            entry("other/b", name="Other B"),
        ]
    }
    body = orjson.dumps(document)
    async with in_process(tmp_path, catalog_file=seed) as running:
        shown = await send(
            running, body, models="acme/*", only="cost.prompt,name", missing="delete", dry_run="1"
        )
        assert shown["changed"] == [
            {
                "id": "acme/a",
                "fields": {
                    "name": {"old": "A", "new": "Renamed"},
                    "cost.prompt": {"old": 1, "new": 3, "relative": 2.0},
                },
            }
        ]
        assert shown["skipped"] == [{"name": "acme/new", "reason": ONLY_STORED}]
        assert [(r["id"], r["action"]) for r in shown["removed"]] == [("acme/gone", "delete")]
        done = await send(running, body, models="acme/*", only="cost.prompt", missing="delete")
        assert (done["updated"], done["deleted"], done["inserted"]) == (1, 1, 0)

        client, admin = running.client, running.headers()
        ids = [
            m["id"] for m in (await client.get("/admin/v1/models", headers=admin)).json()["data"]
        ]
        assert ids == ["acme/a", "other/b", "other/gone"]  # other/* untouched
        a = (await client.get("/admin/v1/models/acme/a", headers=admin)).json()
        assert (a["name"], a["cost"]["prompt"], a["cost"]["input_cache_read"]) == ("A", 3, 0.25)
        audit = await client.get(
            "/admin/v1/audit", params={"entity_id": "acme/gone"}, headers=admin
        )
        actions = [e["action"] for e in audit.json()["data"]]
        assert actions == ["model.delete", "model.create"]  # newest first (the seed's create)


async def test_pins_set_through_the_api_hold_against_every_import(tmp_path: Path) -> None:
    seed = write_catalog(tmp_path / "seed.yaml", [entry("acme/a")])
    async with in_process(tmp_path, catalog_file=seed) as running:
        client, admin = running.client, running.headers()
        pinned = await client.patch(
            "/admin/v1/models/acme/a", json={"pinned": ["name", "cost"]}, headers=admin
        )
        assert pinned.status_code == 200, pinned.text
        document = [
            entry("acme/a", name="B", cost={"prompt": 2, "completion": 2}, pinned=["routing"])
        ]
        await send(running, orjson.dumps(document))
        a = (await client.get("/admin/v1/models/acme/a", headers=admin)).json()
        assert (a["name"], a["cost"]["prompt"]) == ("A", 1)
        assert a["pinned"] == ["name", "cost", "routing"]  # the entry's pins are added


@pytest.mark.parametrize(
    ("params", "param", "words"),
    [
        ({"only": "cost,colour"}, "only", "'colour' is not a field"),
        ({"only": ","}, "only", "name one or more fields"),
        ({"models": ""}, "models", "give one or more globs"),
        ({"models": "Acme/*"}, "models", "pattern"),
        ({"only": "cost;name"}, "only", "pattern"),
        ({"missing": "forget"}, "missing", "keep"),
    ],
)
async def test_bad_limits_are_a_400_naming_the_parameter(
    tmp_path: Path, params: dict[str, str], param: str, words: str
) -> None:
    async with in_process(tmp_path) as running:
        for dry_run in ("true", "false"):
            answer = await post(running, {"models": []}, **params, dry_run=dry_run)
            assert_error(answer, 400, param)
            assert words in answer.json()["error"]["message"]
