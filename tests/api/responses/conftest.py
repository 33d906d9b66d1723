"""The Responses API gateway: a stack of fake upstreams (SQLite) — one serving the Responses
API itself, one serving only chat completions, one Anthropic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.stacks import Stack, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("responses"))
    yield running
    running.gateway.stop()
    running.upstream.stop()
