"""The chat gateway, on each supported database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.databases import backend_database
from tests.utils.stacks import Stack, start_stack


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The chat gateway, on each supported database."""
    with backend_database(request.param, tmp_path_factory.mktemp("chat")) as url:
        running = start_stack(tmp_path_factory.mktemp("chat"), url)
        yield running
        running.gateway.stop()
        running.upstream.stop()
