"""The documentation page's three examples, run as written (only base URL and key changed)."""

from __future__ import annotations

import json
import subprocess

import httpx
from openai import OpenAI

from quantized.catalog.model import ENDPOINTS
from tests.utils.keys import Keys
from tests.utils.processes import Gateway

DOCUMENTED_FIELDS = {
    "id": str,
    "name": str,
    "model_author": str,
    "input_modality": dict,
    "output_modality": dict,
    "status": str,
    "supported_features": list,
    "cost": dict,
}
ADDITIVE_FIELDS = {"endpoints", "context_length"}
"""Beyond the documented fields: the model APIs a model serves, and its context length."""


def assert_documented_model(model: dict[str, object]) -> None:
    for field, kind in DOCUMENTED_FIELDS.items():
        assert isinstance(model[field], kind), (field, model[field])
    assert model["description"] is None or isinstance(model["description"], str)
    model_id = str(model["id"])
    author, slash, slug = model_id.partition("/")
    assert slash and slug and author == model["model_author"]
    for key in ("input_modality", "output_modality"):
        modality = model[key]
        assert isinstance(modality, dict)
        assert set(modality) == {"text", "image", "audio", "video"}
        assert all(isinstance(v, bool) for v in modality.values())
    assert model["status"] == "active"
    assert all(isinstance(f, str) for f in model["supported_features"])  # type: ignore[attr-defined]
    cost = model["cost"]
    assert isinstance(cost, dict) and set(cost) == {"prompt", "completion", "input_cache_read"}
    for price in cost.values():
        assert isinstance(price, int | float) and not isinstance(price, bool) and price >= 0
    endpoints = model["endpoints"]
    assert isinstance(endpoints, list) and endpoints and set(endpoints) <= set(ENDPOINTS)


def test_curl_example(gateway: Gateway, keys: Keys) -> None:
    result = subprocess.run(
        [
            "curl",
            "-s",
            f"{gateway.url}/v1/models",
            "-H",
            f"Authorization: Bearer {keys.plain}",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    models = json.loads(result.stdout)
    assert isinstance(models, list) and len(models) >= 40
    for model in models:
        assert set(model) == set(DOCUMENTED_FIELDS) | {"description"} | ADDITIVE_FIELDS
        assert_documented_model(model)
    assert [m["id"] for m in models] == sorted(m["id"] for m in models)


def test_httpx_example(gateway: Gateway, keys: Keys) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models",
        headers={"Authorization": f"Bearer {keys.plain}"},
    )
    models = response.json()
    lines = []
    for model in models:
        lines.append(f"{model['id']}: {model['name']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert len(lines) == len(models) >= 40
    assert all(": " in line for line in lines)


def test_openai_sdk_example(gateway: Gateway, keys: Keys) -> None:
    client = OpenAI(
        api_key=keys.plain,
        base_url=f"{gateway.url}/v1",
    )
    models = client.models.list()
    ids = []
    for model in models.data:
        ids.append(model.id)
    plain = httpx.get(
        f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {keys.plain}"}
    ).json()
    assert ids == [m["id"] for m in plain]
    first = models.data[0]
    assert first.object == "model"
    assert first.owned_by == first.id.split("/")[0]
    assert isinstance(first.created, int) and first.created > 0
    extra = first.model_dump()
    assert_documented_model(extra)


def test_sdk_envelope_carries_every_documented_field(gateway: Gateway, keys: Keys) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models",
        headers={"Authorization": f"Bearer {keys.plain}", "X-Stainless-Lang": "python"},
    )
    body = response.json()
    assert body["object"] == "list"
    for model in body["data"]:
        assert_documented_model(model)
        assert model["object"] == "model"
        assert model["owned_by"] == model["model_author"]
        assert isinstance(model["created"], int)


def test_user_agent_alone_selects_the_envelope(gateway: Gateway, keys: Keys) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models",
        headers={"Authorization": f"Bearer {keys.plain}", "User-Agent": "OpenAI/Python 3.57.0"},
    )
    assert response.json()["object"] == "list"
