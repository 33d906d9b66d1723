"""The OpenAPI document, checked against the live server by schemathesis.

Schemathesis generates valid and invalid requests for every operation from the
document (bounded and derandomized, so runs are repeatable) and fails on any 5xx,
any status the document does not list, and any response body or content type that
violates it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.utils.processes import Gateway, quantized_env, start_gateway

MAX_EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own: schemathesis creates, changes and deletes things."""
    workdir: Path = tmp_path_factory.mktemp("fuzzed")
    gateway = start_gateway(quantized_env(f"sqlite:///{workdir / 'q.db'}"), workdir)
    yield gateway
    gateway.stop()


def test_the_server_keeps_the_documented_promises(fuzzed_gateway: Gateway) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_gateway.url}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzzed_gateway.admin_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 24

    unnegatable: list[str] = []
    for operation, mode in itertools.product(operations, schemathesis.GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            # An operation without parameters or body has no invalid form to generate.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            unnegatable.append(operation.label)
    parameterless = {
        "GET /healthz",
        "GET /readyz",
        "GET /openapi.json",
        "GET /docs",
        "GET /admin/v1/models",
        "GET /admin/v1/keys",
        "GET /admin/v1/budgets",
    }
    assert set(unnegatable) <= parameterless


def test_document_basics(fuzzed_gateway: Gateway) -> None:
    document = httpx.get(f"{fuzzed_gateway.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    listing = document["paths"]["/v1/models"]["get"]["responses"]["200"]
    shapes = listing["content"]["application/json"]["schema"]["oneOf"]
    assert {"type": "array", "items": {"$ref": "#/components/schemas/PublicModel"}} in shapes
    assert {"$ref": "#/components/schemas/SdkModelList"} in shapes
    assert "X-Stainless-Lang" in document["info"]["description"]
    for path in ("/admin/v1/models", "/admin/v1/keys", "/admin/v1/audit", "/healthz"):
        assert path in document["paths"]
    docs = httpx.get(f"{fuzzed_gateway.url}/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
