"""The chat gateway, on each supported database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.stacks import Stack, stack_on


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The chat gateway, on each supported database."""
    with stack_on(request.param, tmp_path_factory, "chat") as running:
        yield running
