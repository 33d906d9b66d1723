"""A team's models bound its keys and its people's tokens: a caller in a team may use the
models both the team and its own key or token allow, and a change to the team reaches
running servers without a restart. A real gateway, a real identity provider (JWKS over
HTTP) and a fake upstream; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import backend_database
from tests.utils.identity import AUDIENCE, IdentityProvider
from tests.utils.keys import create_key
from tests.utils.processes import Gateway, quantized_env, run_cli, start_gateway, wait_until
from tests.utils.stacks import PROVIDER_KEY, upstream
from tests.utils.upstreams import FakeUpstream

MODELS = ["openai/gpt-a", "openai/gpt-b", "openai/o-c", "anthropic/claude-d", "meta/llama-e"]
KEY_MODELS = ["openai/gpt-*", "anthropic/*"]
BOTH = ["openai/gpt-a", "openai/gpt-b"]
"""What a key or token with ``KEY_MODELS`` in a team with ``openai/*`` may use."""


@dataclass
class Site:
    gateway: Gateway
    idp: IdentityProvider
    upstream: FakeUpstream

    @property
    def admin(self) -> httpx.Client:
        return self.client(str(self.gateway.admin_key))

    def client(self, credential: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateway.url,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=30,
        )

    def listing(self, credential: str) -> list[str]:
        with self.client(credential) as client:
            response = client.get("/v1/models")
        assert response.status_code == 200, response.text
        return sorted(m["id"] for m in response.json())

    def chat(self, credential: str, model: str) -> httpx.Response:
        with self.client(credential) as client:
            return client.post(
                "/v1/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            )

    def token(self, **claims: Any) -> str:
        return self.idp.token(**claims)

    def cli(self, *args: str) -> str:
        return run_cli(*args, env=self.gateway.env, check=True).stdout


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    workdir: Path = tmp_path_factory.mktemp("teams")
    idp = IdentityProvider("RS256").start()
    fake = FakeUpstream().start()
    catalog = write_catalog(
        workdir / "catalog.yaml",
        [entry(m, upstreams=[upstream(fake.base_url, "echo")]) for m in MODELS],
    )
    with backend_database(request.param, workdir) as url:
        env = quantized_env(
            url,
            QUANTIZED_CATALOG_FILE=str(catalog),
            QUANTIZED_JWT_ISSUER=idp.issuer,
            QUANTIZED_JWT_AUDIENCE=AUDIENCE,
            QUANTIZED_JWT_JWKS_URL=idp.jwks_url,
            QUANTIZED_JWT_TEAM_CLAIM="team",
            FAKE_KEY=PROVIDER_KEY,
        )
        gateway = start_gateway(env, workdir)
        assert gateway.admin_key
        try:
            yield Site(gateway, idp, fake)
        finally:
            gateway.stop()
            fake.stop()
            idp.stop()


def new_team(site: Site, name: str, models: list[str] | None) -> dict[str, Any]:
    with site.admin as client:
        response = client.post("/admin/v1/teams", json={"name": name, "models": models})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_allowed", "model")


def test_a_keys_models_are_those_its_team_allows_too(site: Site) -> None:
    team = new_team(site, "research", ["openai/*"])
    with site.admin as client:
        made = client.post(
            "/admin/v1/keys",
            json={"name": "r1", "models": KEY_MODELS, "team_id": team["id"], "person": "ann"},
        )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert site.listing(secret) == BOTH
    allowed = site.chat(secret, "openai/gpt-a")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["choices"][0]["message"]["content"] == "echo: hi"
    assert_refused(site.chat(secret, "anthropic/claude-d"))  # the key's, not the team's
    assert_refused(site.chat(secret, "openai/o-c"))  # the team's, not the key's
    with site.client(secret) as client:
        assert client.get("/v1/models/openai/gpt-b").status_code == 200
        assert client.get("/v1/models/anthropic/claude-d").status_code == 404


def test_a_change_to_the_team_reaches_its_keys_without_a_restart(site: Site) -> None:
    """Written by the CLI, another process: the server finds it in the change log."""
    site.cli("teams", "create", "ops", "--models", "openai/*")
    secret = create_key(
        site.gateway.env,
        "--name",
        "o1",
        "--team",
        "ops",
        "--person",
        "ben",
        *(arg for m in KEY_MODELS for arg in ("--models", m)),
    )
    wait_until(lambda: _works(site, secret) and site.listing(secret) == BOTH, timeout=5)
    site.cli("teams", "update", "ops", "--models", "openai/gpt-a", "--models", "meta/*")
    wait_until(lambda: site.listing(secret) == ["openai/gpt-a"], timeout=5)
    assert_refused(site.chat(secret, "openai/gpt-b"))
    site.cli("teams", "update", "ops", "--all-models")
    wait_until(
        lambda: site.listing(secret) == ["anthropic/claude-d", "openai/gpt-a", "openai/gpt-b"],
        timeout=5,
    )
    assert site.chat(secret, "anthropic/claude-d").status_code == 200


def _works(site: Site, secret: str) -> bool:
    with site.client(secret) as client:
        return client.get("/v1/models").status_code == 200


def test_a_token_naming_a_team_gets_what_both_allow(site: Site) -> None:
    new_team(site, "design", ["openai/*"])
    token = site.token(sub="cat@example.com", team="design", models=KEY_MODELS)
    assert site.listing(token) == BOTH
    assert site.chat(token, "openai/gpt-b").status_code == 200
    assert_refused(site.chat(token, "anthropic/claude-d"))
    unclaimed = site.token(sub="cat@example.com", team="design")
    assert site.listing(unclaimed) == ["openai/gpt-a", "openai/gpt-b", "openai/o-c"]


def test_a_token_naming_an_unknown_team_is_refused(site: Site) -> None:
    token = site.token(sub="dan@example.com", team="no-such-team")
    with site.client(token) as client:
        response = client.get("/v1/models")
    assert response.status_code == 401, response.text
    assert "no-such-team" in response.json()["error"]["message"]
    with site.client(token) as client:
        chat = client.post(
            "/v1/chat/completions",
            json={"model": "openai/gpt-a", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert chat.status_code == 401


def test_a_member_without_a_claim_gets_the_teams_models(site: Site) -> None:
    site.cli("teams", "create", "support", "--models", "anthropic/*", "--models", "meta/*")
    token = site.token(sub="eve@example.com")
    assert site.listing(token) == sorted(MODELS)  # not a member yet: no team
    site.cli("teams", "add-member", "support", "eve@example.com")
    wait_until(lambda: site.listing(token) == ["anthropic/claude-d", "meta/llama-e"], timeout=5)
    assert_refused(site.chat(token, "openai/gpt-a"))
    assert site.chat(token, "meta/llama-e").status_code == 200
    site.cli("teams", "remove-member", "support", "eve@example.com")
    wait_until(lambda: site.listing(token) == sorted(MODELS), timeout=5)
