"""A gateway whose catalog points at fake upstreams (a "stack"), and helpers to read its ledger."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import backend_database, query
from tests.utils.keys import create_key, key_works
from tests.utils.processes import Gateway, free_port, quantized_env, start_gateway, wait_until
from tests.utils.upstreams import FakeUpstream

PROVIDER_KEY = "sk-upstream-provider-secret-1234567890"
PRICES = {"prompt": 2.5, "completion": 10, "input_cache_read": 1.25, "input_cache_write": 3.125}
FULL = {
    "input_modalities": ["text", "image"],
    "supported_features": ["tool_calls", "structured_output"],
    "cost": PRICES,
}
THINKING = {**FULL, "supported_features": ["tool_calls", "structured_output", "reasoning"]}
EMBED_PRICE = 0.13
EMBED = {
    "input_modalities": ["text"],
    "supported_features": [],
    "cost": {"prompt": EMBED_PRICE, "completion": 0},
    "endpoints": ["embeddings"],
}
"""An embedding model's entry (it serves /v1/embeddings alone)."""


def upstream(
    url: str, model: str, provider: str = "openai", env: str = "FAKE_KEY", responses: bool = False
) -> dict[str, Any]:
    base = url if provider == "anthropic" else f"{url}/v1"
    found = {"provider": provider, "base_url": base, "model": model, "api_key_env": env}
    return {**found, "responses": True} if responses else found


def catalog(url: str, dead: str) -> list[dict[str, Any]]:
    return [
        entry(
            "fake/gpt",
            aliases=["fake-gpt-alias", "fake-gpt-2026-01-01"],
            upstreams=[upstream(url, "usage-100-40-20")],
            **FULL,
        ),
        entry(
            "fake/claude",
            aliases=["fake-claude-alias"],
            upstreams=[upstream(url, "usage-100-40-20", "anthropic")],
            **FULL,
        ),
        entry(
            "fake/text-only",
            input_modalities=["text"],
            supported_features=[],
            cost=PRICES,
            upstreams=[upstream(url, "echo")],
        ),
        entry(
            "fake/fallback", upstreams=[upstream(url, "fail-500"), upstream(url, "echo")], **FULL
        ),
        entry(
            "fake/fallback-drop", upstreams=[upstream(url, "drop"), upstream(url, "echo")], **FULL
        ),
        entry("fake/limited", upstreams=[upstream(url, "fail-429")], **FULL),
        entry("fake/down", upstreams=[upstream(dead, "echo")], **FULL),
        entry("fake/slow", upstreams=[upstream(url, "slow-3")], **FULL),
        entry("fake/rejects", upstreams=[upstream(url, "fail-400")], **FULL),
        entry("fake/bad-credentials", upstreams=[upstream(url, "fail-401")], **FULL),
        entry("fake/no-key", upstreams=[upstream(url, "echo", env="MISSING_PROVIDER_KEY")], **FULL),
        entry("fake/chunks", upstreams=[upstream(url, "chunks-60")], **FULL),
        entry("fake/claude-chunks", upstreams=[upstream(url, "chunks-60", "anthropic")], **FULL),
        entry("fake/break", upstreams=[upstream(url, "break-3")], **FULL),
        entry(
            "fake/old",
            status="deprecated",
            aliases=["fake-old-alias"],
            upstreams=[upstream(url, "echo")],
            **FULL,
        ),
        entry("fake/slowish", upstreams=[upstream(url, "slow-0.4")], **FULL),
        entry("fake/garbage", upstreams=[upstream(url, "garbage"), upstream(url, "echo")], **FULL),
        entry("fake/truncated", upstreams=[upstream(url, "truncated")], **FULL),
        entry("fake/noisy", upstreams=[upstream(url, "noisy-100-40-20")], **FULL),
        entry("fake/claude-think", upstreams=[upstream(url, "think", "anthropic")], **THINKING),
        entry("fake/gpt-think", upstreams=[upstream(url, "think")], **THINKING),
        entry("fake/claude-break", upstreams=[upstream(url, "break-2", "anthropic")], **FULL),
        entry(
            "fake/claude-overloaded", upstreams=[upstream(url, "overloaded", "anthropic")], **FULL
        ),
        entry(
            "fake/claude-late",
            upstreams=[upstream(url, "late-1000-300-200-50", "anthropic")],
            **FULL,
        ),
        entry("fake/router", upstreams=[upstream(url, "usage-1000-300-50-200")], **FULL),
        entry(
            "fake/gpt-native",
            upstreams=[upstream(url, "usage-100-40-20", responses=True)],
            **FULL,
        ),
        entry("fake/native-think", upstreams=[upstream(url, "think", responses=True)], **THINKING),
        entry("fake/native-break", upstreams=[upstream(url, "break-3", responses=True)], **FULL),
        entry(
            "fake/native-fallback",
            upstreams=[upstream(url, "fail-500", responses=True), upstream(url, "echo")],
            **FULL,
        ),
        entry("fake/embed", upstreams=[upstream(url, "embed")], **EMBED),
        entry("fake/embed-nousage", upstreams=[upstream(url, "nousage")], **EMBED),
        entry(
            "fake/embed-fallback",
            upstreams=[upstream(url, "fail-500"), upstream(url, "embed")],
            **EMBED,
        ),
        entry("fake/embed-limited", upstreams=[upstream(url, "fail-429")], **EMBED),
        entry("fake/embed-rejects", upstreams=[upstream(url, "fail-400")], **EMBED),
        entry("fake/embed-garbage", upstreams=[upstream(url, "garbage")], **EMBED),
    ]


@dataclass
class Stack:
    gateway: Gateway
    upstream: FakeUpstream
    admin_key: str
    user_key: str
    database_url: str

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateway.url,
            timeout=30,
            headers={"Authorization": f"Bearer {key or self.user_key}"},
        )

    def ledger(self, **where: Any) -> list[dict[str, Any]]:
        """Ledger rows, read straight from the database."""
        clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
        return query(
            self.database_url,
            f"SELECT * FROM usage WHERE {clause} ORDER BY id",  # noqa: S608
            *where.values(),
        )

    def row(self, request_id: str) -> dict[str, Any]:
        return wait_until(lambda: (self.ledger(request_id=request_id) or [None])[0], timeout=5)


def start_stack(workdir: Path, database_url: str | None = None, **settings: str) -> Stack:
    fake = FakeUpstream().start()
    dead = f"http://127.0.0.1:{free_port()}"
    catalog_file = write_catalog(workdir / "catalog.yaml", catalog(fake.base_url, dead))
    database_url = database_url or f"sqlite:///{workdir / 'q.db'}"
    env = quantized_env(
        database_url,
        QUANTIZED_CATALOG_FILE=str(catalog_file),
        QUANTIZED_UPSTREAM_TIMEOUT="1.5",
        QUANTIZED_MAX_BODY_BYTES="200000",
        FAKE_KEY=PROVIDER_KEY,
        **settings,
    )
    gateway = start_gateway(env, workdir)
    assert gateway.admin_key
    user = create_key(env, "--name", "chat-user", "--models", "fake/*")
    wait_until(lambda: key_works(gateway, user), timeout=5)
    return Stack(gateway, fake, gateway.admin_key, user, database_url)


@contextlib.contextmanager
def stack_on(kind: str, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Stack]:
    """A stack on a fresh database of ``kind`` ("sqlite" or "postgresql"), stopped and the
    database dropped afterwards."""
    with backend_database(kind, tmp_path_factory.mktemp(name)) as url:
        running = start_stack(tmp_path_factory.mktemp(name), url)
        try:
            yield running
        finally:
            running.gateway.stop()
            running.upstream.stop()
