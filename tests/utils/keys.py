"""Keys for tests, issued through the real CLI, and a check that a gateway accepts them."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.utils.processes import Gateway, run_cli


def create_key(env: dict[str, str], *args: str) -> str:
    result = run_cli("keys", "create", *args, env=env, check=True)
    return result.stdout.strip().splitlines()[-1]


def key_works(gateway: Gateway, key: str) -> bool:
    response = httpx.get(
        f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5
    )
    return response.status_code == 200


@dataclass(frozen=True)
class Keys:
    """Keys of every kind, issued through the CLI against the shared gateway."""

    admin: str
    plain: str
    restricted: str
    expired: str
    revoked: str
