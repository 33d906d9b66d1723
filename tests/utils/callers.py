"""Callers of every kind (admin and user keys and JWTs) of a gateway for admin API tests."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.utils.identity import AUDIENCE, sign
from tests.utils.keys import create_key, key_works
from tests.utils.processes import Gateway, quantized_env, start_gateway, wait_until

SECRET = secrets.token_urlsafe(40)
ISSUER = "https://idp.test"


def token(**claims: object) -> str:
    now = int(time.time())
    return sign(SECRET, {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600, **claims})


@dataclass(frozen=True)
class Callers:
    gateway: Gateway
    admin_key: str
    user_key: str
    admin_jwt: str
    user_jwt: str

    def client(self, credential: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateway.url,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=30,
        )

    @property
    def admin(self) -> httpx.Client:
        return self.client(self.admin_key)


def start_callers(url: str, workdir: Path) -> Iterator[Callers]:
    env = quantized_env(
        url,
        QUANTIZED_JWT_ISSUER=ISSUER,
        QUANTIZED_JWT_AUDIENCE=AUDIENCE,
        QUANTIZED_JWT_SECRET=SECRET,
    )
    gateway = start_gateway(env, workdir)
    assert gateway.admin_key
    user_key = create_key(env, "--name", "user")
    wait_until(lambda: key_works(gateway, user_key), timeout=5)  # made by another process
    yield Callers(
        gateway=gateway,
        admin_key=gateway.admin_key,
        user_key=user_key,
        admin_jwt=token(sub="ops@example.com", roles=["quantized-admin"]),
        user_jwt=token(sub="dev@example.com", roles=["developer"]),
    )
    gateway.stop()


def assert_error(response: httpx.Response, status: int, param: str | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] == param, error
    return str(error["message"])
