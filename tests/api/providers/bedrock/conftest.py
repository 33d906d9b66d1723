"""Gateways whose catalogs point at a fake AWS Bedrock runtime (SQLite), each given its
AWS credentials as an operator would: environment variables, or a profile in a shared
credentials file. No test reads the machine's own AWS setup: every ``AWS_*`` variable
is dropped, the shared files are the test's own, and the instance metadata service is
never asked (``AWS_EC2_METADATA_DISABLED``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.utils.aws import Keys
from tests.utils.bedrock_upstream import REGION, FakeBedrock
from tests.utils.catalogs import entry, write_catalog
from tests.utils.keys import create_key, key_works
from tests.utils.processes import quantized_env, start_gateway, wait_until
from tests.utils.stacks import FULL, THINKING, Stack

ENV_KEYS = Keys(
    "AKIDBEDROCKENVIRON01",
    "env-secret-wJalrXUtnFEMI-K7MDENG-bPxRfiCY",
    "env-session-token-IQoJb3JpZ2luX2VjEJr",
)
PROFILE_KEYS = Keys("AKIDBEDROCKPROFILE01", "profile-secret-je7MtGbClwBF-2Zp9Utk")
API_KEY_ENV = "BEDROCK_API_KEY"


@dataclass
class Bedrock:
    stack: Stack
    """The gateway, its keys and ledger (``stack.upstream`` is the fake Bedrock)."""
    fake: FakeBedrock


def upstream(fake: FakeBedrock, model: str, **fields: Any) -> dict[str, Any]:
    found = {"provider": "bedrock", "base_url": fake.base_url, "model": model, "region": REGION}
    return {**found, **fields}


def catalog(fake: FakeBedrock) -> list[dict[str, Any]]:
    def one(
        model_id: str, model: str, features: dict[str, Any] = FULL, **fields: Any
    ) -> dict[str, Any]:
        return entry(model_id, upstreams=[upstream(fake, model, **fields)], **features)

    api_key = {"auth": "api-key", "api_key_env": API_KEY_ENV}
    return [
        one("bedrock/claude", "anthropic.usage-1000-300-200-50-v1:0"),
        one("bedrock/echo", "anthropic.echo-v1:0"),
        one("bedrock/think", "anthropic.think-v1:0", THINKING),
        one("bedrock/llama", "meta.echo-v1:0"),
        one("bedrock/throttled", "anthropic.throttled-v1:0"),
        one("bedrock/corrupt", "anthropic.corrupt-v1:0"),
        one("bedrock/rejects", "anthropic.fail-400-v1:0"),
        one("bedrock/garbage", "anthropic.garbage-v1:0"),
        one("bedrock/api-key", "anthropic.echo-v1:0", **api_key),
        entry(
            "bedrock/fallback",
            upstreams=[
                upstream(fake, "anthropic.fail-500-v1:0"),
                upstream(fake, "anthropic.echo-v1:0"),
            ],
            **FULL,
        ),
    ]


def aws_environment(workdir: Path, **variables: str) -> dict[str, str]:
    """The test's AWS setup: ``variables``, and shared files in ``workdir`` (absent unless
    the test writes them)."""
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws-credentials"),
        "AWS_CONFIG_FILE": str(workdir / "aws-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **variables,
    }


def start_bedrock_gateway(workdir: Path, fake: FakeBedrock, **variables: str) -> Stack:
    """A gateway for ``fake``, with no AWS setup but ``variables`` (see :func:`aws_environment`)."""
    database_url = f"sqlite:///{workdir / 'q.db'}"
    env = quantized_env(
        database_url,
        QUANTIZED_CATALOG_FILE=str(write_catalog(workdir / "catalog.yaml", catalog(fake))),
        QUANTIZED_UPSTREAM_TIMEOUT="5",
        **{API_KEY_ENV: fake.api_key},
    )
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    env |= aws_environment(workdir, **variables)
    gateway = start_gateway(env, workdir)
    assert gateway.admin_key
    user = create_key(env, "--name", "bedrock-user", "--models", "bedrock/*")
    wait_until(lambda: key_works(gateway, user), timeout=5)
    return Stack(gateway, fake, gateway.admin_key, user, database_url)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBedrock]:
    server = FakeBedrock(keys={k.access_key: k for k in (ENV_KEYS, PROFILE_KEYS)}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bedrock(tmp_path_factory: pytest.TempPathFactory, fake: FakeBedrock) -> Iterator[Bedrock]:
    """A gateway with credentials in its environment (temporary ones: a session token)."""
    stack = start_bedrock_gateway(
        tmp_path_factory.mktemp("bedrock"),
        fake,
        AWS_ACCESS_KEY_ID=ENV_KEYS.access_key,
        AWS_SECRET_ACCESS_KEY=ENV_KEYS.secret_key,
        AWS_SESSION_TOKEN=str(ENV_KEYS.token),
    )
    try:
        yield Bedrock(stack, fake)
    finally:
        stack.gateway.stop()
