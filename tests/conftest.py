"""Shared fixtures: real databases, a real gateway process, real keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.databases import backend_database
from tests.utils.keys import Keys, create_key, key_works
from tests.utils.processes import Gateway, quantized_env, run_cli, start_gateway, wait_until


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each supported kind."""
    with backend_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    """In-process async tests (``pytest.mark.anyio``) run on asyncio, as the server does."""
    return "asyncio"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'quantized.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """One gateway with the shipped catalog, on each database, shared by read-only tests."""
    workdir = tmp_path_factory.mktemp("gateway")
    with backend_database(request.param, workdir) as url:
        server = start_gateway(quantized_env(url), workdir)
        yield server
        server.stop()


@pytest.fixture(scope="session")
def keys(gateway: Gateway) -> Keys:
    env = gateway.env
    assert gateway.admin_key is not None
    plain = create_key(env, "--name", "plain")
    restricted = create_key(
        env, "--name", "restricted", "--models", "openai/*", "--models", "anthropic/claude-*"
    )
    expired = create_key(env, "--name", "expired", "--expires-in", "1s")
    revoked = create_key(env, "--name", "revoked")
    revoked_id = run_cli("keys", "list", "--json", env=env, check=True)
    import json

    ids = {k["name"]: k["id"] for k in json.loads(revoked_id.stdout)}
    run_cli("keys", "revoke", str(ids["revoked"]), env=env, check=True)
    for key in (plain, restricted):
        wait_until(lambda key=key: key_works(gateway, key), timeout=5)
    wait_until(lambda: not key_works(gateway, revoked), timeout=5)
    wait_until(lambda: not key_works(gateway, expired), timeout=5)
    return Keys(gateway.admin_key, plain, restricted, expired, revoked)
