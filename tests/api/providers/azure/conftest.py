"""A gateway whose catalog points at a fake Azure OpenAI resource, with a fake Entra ID
authority for the ``auth: entra`` upstreams (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.utils.azure_upstream import API_VERSION, FakeAzure
from tests.utils.catalogs import entry, write_catalog
from tests.utils.entra import FakeEntra
from tests.utils.keys import create_key, key_works
from tests.utils.processes import quantized_env, start_gateway, wait_until
from tests.utils.stacks import EMBED, FULL, Stack

OPERATOR_TOKEN = "operator-refreshed-token-0123456789"
"""A bearer token an operator's own refresher put in AZURE_OPENAI_TOKEN."""
WRONG_KEY = "wrong-azure-key-9876543210"
SHORT = 120
"""The fake authority's tokens live two minutes: due for refresh (less than five minutes
left) as soon as the gateway gets them, so each entra request starts one. Only the test of
caching makes it grant longer ones for a moment."""


@dataclass
class Azure:
    stack: Stack
    """The gateway, its keys and ledger (``stack.upstream`` is the fake Azure resource)."""
    fake: FakeAzure
    entra: FakeEntra


def upstream(fake: FakeAzure, deployment: str, **fields: Any) -> dict[str, Any]:
    found = {
        "provider": "azure",
        "base_url": fake.endpoint,
        "model": deployment,
        "api_version": API_VERSION,
        "api_key_env": "AZURE_OPENAI_KEY",
    }
    return {k: v for k, v in {**found, **fields}.items() if v is not None}


def catalog(fake: FakeAzure) -> list[dict[str, Any]]:
    v1 = {"base_url": f"{fake.endpoint}/openai/v1", "api_version": None}
    entra = {"auth": "entra", "api_key_env": None}
    return [
        entry("azure/gpt", upstreams=[upstream(fake, "usage-1000-300-50")], **FULL),
        entry("azure/v1", upstreams=[upstream(fake, "usage-100-40-20", **v1)], **FULL),
        entry("azure/entra", upstreams=[upstream(fake, "usage-100-40-20", **entra)], **FULL),
        entry(
            "azure/entra-token",
            upstreams=[upstream(fake, "echo", auth="entra", api_key_env="AZURE_OPENAI_TOKEN")],
            **FULL,
        ),
        entry("azure/filtered-prompt", upstreams=[upstream(fake, "filtered-prompt")], **FULL),
        entry("azure/filtered", upstreams=[upstream(fake, "filtered-completion")], **FULL),
        entry(
            "azure/wrong-key",
            upstreams=[upstream(fake, "echo", api_key_env="AZURE_WRONG_KEY")],
            **FULL,
        ),
        entry("azure/embed", upstreams=[upstream(fake, "text-embedding-3-small")], **EMBED),
        entry(
            "azure/fallback",
            upstreams=[upstream(fake, "fail-500"), upstream(fake, "echo", **entra)],
            **FULL,
        ),
    ]


def start_azure(workdir: Path, fake: FakeAzure, entra: FakeEntra, **env: str) -> Stack:
    """A gateway serving :func:`catalog`, its Entra ID variables ``entra``'s unless ``env``
    says otherwise."""
    database_url = f"sqlite:///{workdir / 'q.db'}"
    environment = quantized_env(
        database_url,
        QUANTIZED_CATALOG_FILE=str(write_catalog(workdir / "catalog.yaml", catalog(fake))),
        QUANTIZED_UPSTREAM_TIMEOUT="5",
        AZURE_OPENAI_KEY=fake.api_key,
        AZURE_OPENAI_TOKEN=OPERATOR_TOKEN,
        AZURE_WRONG_KEY=WRONG_KEY,
        **{**entra.environment(), **env},
    )
    gateway = start_gateway(environment, workdir)
    assert gateway.admin_key
    user = create_key(environment, "--name", "azure-user", "--models", "azure/*")
    wait_until(lambda: key_works(gateway, user), timeout=5)
    return Stack(gateway, fake, gateway.admin_key, user, database_url)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azure]:
    workdir = tmp_path_factory.mktemp("azure")
    fake = FakeAzure(tokens={OPERATOR_TOKEN}).start()
    entra = FakeEntra(workdir / "entra", fake.tokens, expires_in=SHORT).start()
    try:
        stack = start_azure(workdir, fake, entra)
        try:
            yield Azure(stack, fake, entra)
        finally:
            stack.gateway.stop()
    finally:
        entra.stop()
        fake.stop()
