"""The gateway with embedding models (``fake/embed…``), on each supported database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from tests.utils.databases import backend_database
from tests.utils.stacks import Stack, start_stack


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with backend_database(request.param, tmp_path_factory.mktemp("embeddings")) as url:
        running = start_stack(tmp_path_factory.mktemp("embeddings"), url)
        yield running
        running.gateway.stop()
        running.upstream.stop()


@pytest.fixture
def client(stack: Stack) -> OpenAI:
    """The official SDK, retrying nothing (a test sees each answer as it came)."""
    return OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)
