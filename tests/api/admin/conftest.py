"""A gateway for the admin API tests, on each supported database, and callers of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.callers import Callers, start_callers
from tests.utils.databases import backend_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def callers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callers]:
    workdir: Path = tmp_path_factory.mktemp("admin-gateway")
    with backend_database(request.param, workdir) as url:
        yield from start_callers(url, workdir)
