"""A gateway whose catalog points at a fake Gemini API (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.gemini_upstream import FakeGemini
from tests.utils.keys import create_key, key_works
from tests.utils.processes import quantized_env, start_gateway, wait_until
from tests.utils.stacks import FULL, THINKING, Stack

WRONG_KEY = "wrong-gemini-key-9876543210"


@dataclass
class Gemini:
    stack: Stack
    """The gateway, its keys and ledger (``stack.upstream`` is the fake Gemini API)."""
    fake: FakeGemini


def upstream(fake: FakeGemini, model: str, **fields: Any) -> dict[str, Any]:
    found = {
        "provider": "gemini",
        "base_url": fake.base_url,
        "model": model,
        "api_key_env": "GEMINI_API_KEY",
    }
    return {k: v for k, v in {**found, **fields}.items() if v is not None}


def catalog(fake: FakeGemini) -> list[dict[str, Any]]:
    def model(model_id: str, *upstreams: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return entry(model_id, upstreams=list(upstreams), **{**THINKING, **fields})

    return [
        model("google/gemini", upstream(fake, "usage-1000-300-50-200")),
        model("google/tool-use", upstream(fake, "models/usage-1000-300-50-200-20")),
        model("google/gemini-3", upstream(fake, "gemini-3-tools")),
        model("google/json", upstream(fake, "json"), **FULL),
        model("google/blocked", upstream(fake, "blocked")),
        model("google/safety", upstream(fake, "safety")),
        model("google/fallback", upstream(fake, "fail-500"), upstream(fake, "echo")),
        model("google/garbage", upstream(fake, "garbage")),
        model("google/truncated", upstream(fake, "truncated")),
        model("google/wrong-key", upstream(fake, "echo", api_key_env="GEMINI_WRONG_KEY")),
        model("google/keyless", upstream(fake, "echo", api_key_env=None)),
    ]


@pytest.fixture(scope="module")
def gemini(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gemini]:
    workdir = tmp_path_factory.mktemp("gemini")
    fake = FakeGemini().start()
    database_url = f"sqlite:///{workdir / 'q.db'}"
    env = quantized_env(
        database_url,
        QUANTIZED_CATALOG_FILE=str(write_catalog(workdir / "catalog.yaml", catalog(fake))),
        QUANTIZED_UPSTREAM_TIMEOUT="5",
        GEMINI_API_KEY=fake.api_key,
        GEMINI_WRONG_KEY=WRONG_KEY,
    )
    gateway = start_gateway(env, workdir)
    try:
        assert gateway.admin_key
        user = create_key(env, "--name", "gemini-user", "--models", "google/*")
        wait_until(lambda: key_works(gateway, user), timeout=5)
        stack = Stack(gateway, fake, gateway.admin_key, user, database_url)  # type: ignore[arg-type]
        yield Gemini(stack, fake)
    finally:
        gateway.stop()
        fake.stop()
