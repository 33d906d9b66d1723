"""The OpenAPI document: complete, self-contained, and true of the running server.

The document is generated from the routes' declarations, so these tests check the
generation as much as the server: every ``$ref`` resolves, the documented operations
are exactly the served ones, and schemathesis (the real ``st`` command line, every
check) finds no disagreement between the document and the server.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantized.api import chat, embeddings, messages, models, responses
from quantized.api.routing import DeclaredRoute
from quantized.app import create_app
from quantized.settings import Settings
from tests.utils.identity import AUDIENCE, sign
from tests.utils.processes import Gateway, quantized_env, start_gateway

ISSUER = "https://idp.fuzz.test"
SECRET = secrets.token_urlsafe(40)
CONFIG = Path(__file__).with_name("schemathesis.toml")
ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = 20
SEED = 20261130
SAMPLE_PATH_VALUES = {
    "key_id": "1",
    "author": "openai",
    "slug": "gpt-4.1",
    "subject": "x",
    "alias": "gpt-4.1",
    "response_id": "resp_1",
    "team_id": "1",
    "person": "x",
    "budget_id": "1",
    "alert_id": "1",
    "upstream": "x",
    "price_id": "1",
}


def admin_token() -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600, "sub": "fuzzer"}
    return sign(SECRET, {**claims, "roles": ["quantized-admin"]})


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own, on its own SQLite file: schemathesis creates, changes and
    deletes things (keys included, so its admin is a JWT, which no API call can revoke)."""
    workdir: Path = tmp_path_factory.mktemp("fuzzed")
    env = quantized_env(
        f"sqlite:///{workdir / 'q.db'}",
        QUANTIZED_JWT_ISSUER=ISSUER,
        QUANTIZED_JWT_AUDIENCE=AUDIENCE,
        QUANTIZED_JWT_SECRET=SECRET,
    )
    gateway = start_gateway(env, workdir)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def document(fuzzed_gateway: Gateway) -> dict[str, Any]:
    response = httpx.get(f"{fuzzed_gateway.url}/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                assert isinstance(value, str)
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def resolve(document: dict[str, Any], reference: str) -> object:
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{reference} does not resolve"
        node = node[part]
    return node


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    found = set(references(document))
    assert len(found) > 20
    for reference in sorted(found):
        assert isinstance(resolve(document, reference), dict), reference
    used = {r.rsplit("/", 1)[1] for r in found}
    assert set(document["components"]["schemas"]) <= used | {"Error"}


def served_operations() -> set[tuple[str, str]]:
    """What the application routes: its framework routes (every one declared) and raw routes."""
    app = create_app(Settings(database_url="sqlite:///unused.db"))
    served = set()
    for route in app.router.routes:
        assert isinstance(route, DeclaredRoute), f"{route} serves without a declaration"
        served |= {(route.path_format, m) for m in route.operations if m != "HEAD"}
    raw_routes = (models, chat, messages, embeddings, responses)
    raw = {(d.path, d.method) for module in raw_routes for d in module.OPERATIONS}
    assert {path for path, _ in raw} == {
        "/v1/models",
        "/v1/models/{author}/{slug}",
        "/v1/models/{alias}",
        chat.PATH,
        messages.PATH,
        messages.COUNT_PATH,
        embeddings.PATH,
        responses.PATH,
    }
    return served | raw


def test_the_document_lists_exactly_the_served_operations(
    document: dict[str, Any], fuzzed_gateway: Gateway
) -> None:
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    assert documented == served_operations()
    assert len(documented) == 57
    for path, method in sorted(documented):  # and the server answers each one itself
        url = fuzzed_gateway.url + path.format(**SAMPLE_PATH_VALUES)
        response = httpx.request(method, url, json={} if method != "GET" else None)
        assert response.status_code != 405, (method, path)
        if response.status_code == 404:
            assert response.json()["error"]["code"] != "unknown_path", (method, path)
    undocumented = httpx.delete(f"{fuzzed_gateway.url}/admin/v1/keys")
    assert undocumented.status_code == 405
    assert set(undocumented.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_document_basics(document: dict[str, Any], fuzzed_gateway: Gateway) -> None:
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    listing = document["paths"]["/v1/models"]["get"]["responses"]["200"]
    shapes = listing["content"]["application/json"]["schema"]["oneOf"]
    assert {"type": "array", "items": {"$ref": "#/components/schemas/PublicModel"}} in shapes
    assert {"$ref": "#/components/schemas/SdkModelList"} in shapes
    assert {"$ref": "#/components/schemas/AnthropicModelList"} in shapes
    assert "anthropic-version" in document["paths"]["/v1/models"]["get"]["description"]
    assert "X-Stainless-Lang" in document["info"]["description"]
    health = document["paths"]["/healthz"]["get"]
    assert set(health["responses"]) == {"200", "400", "503"} and health["security"] == []
    change = document["components"]["schemas"]["KeyChange"]["properties"]["name"]
    assert change.get("type") == "string" and "anyOf" not in change  # null is refused
    checked = document["components"]["schemas"]["PriceSourceEntry"]["properties"]["checked"]
    assert (checked["type"], checked["format"]) == ("string", "date")
    audit = document["paths"]["/admin/v1/audit"]["get"]["parameters"]
    before = next(p for p in audit if p["name"] == "before")["schema"]
    assert (before["minimum"], before["maximum"]) == (1, 2**31 - 1)
    docs = httpx.get(f"{fuzzed_gateway.url}/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


@pytest.mark.timeout(400)
def test_schemathesis_finds_no_disagreement(fuzzed_gateway: Gateway, tmp_path: Path) -> None:
    """Every schemathesis check, every operation and phase, seeded (repeatable) and bounded.

    Configured, the documented way (``schemathesis.toml`` beside this file), in two
    places only: ``positive_data_acceptance`` also accepts 400 for
    ``POST /admin/v1/models/import``, whose body format is chosen by its ``format``
    query parameter: OpenAPI cannot tie a body schema to a query value, so a valid
    document in another format than the one named is rightly refused; and
    ``not_a_server_error`` accepts 503 from the model routes (chat completions,
    messages, count_tokens, embeddings, responses): this gateway has no provider keys, so a
    request naming a real model (by its id or an alias) is refused so, as documented; and
    ``positive_data_acceptance`` accepts their 400 for a model that serves another API.
    (Each block selects its operations by path alone: a block's include filters select what
    matches any.)
    ``object_level_authorization`` runs but has nothing to compare: it needs a second
    identity's credentials, and no resource here belongs to one caller except
    ``/v1/usage``, which always answers with the caller's own data.
    """
    result = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(CONFIG),
            "run",
            f"{fuzzed_gateway.url}/openapi.json",
            "--checks",
            "all",
            "-H",
            f"Authorization: Bearer {admin_token()}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--request-timeout",
            "10",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=380,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
    assert selected and len(set(selected.groups())) == 1, output[-3000:]
    # Schemathesis's warnings are heuristics (its "schema validation mismatch" counts the
    # 400s of its own negative cases on model routes whose unknown model ids are 404s), and
    # their wording says "errors": only what precedes them must be free of the word.
    checked = output.split("WARNINGS ===")[0]
    assert " passed" in output and "failure" not in output and "error" not in checked.lower(), (
        output[-3000:]
    )
