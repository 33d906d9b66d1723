"""``quantized keys``: create, list, revoke, on SQLite and PostgreSQL, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.processes import KEY_RE, quantized_env, run_cli


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = quantized_env(database_url)
    catalog = write_catalog(
        tmp_path / "catalog.yaml",
        [entry("openai/gpt-x"), entry("openai/gpt-y"), entry("anthropic/claude-z")],
    )
    run_cli("models", "import", str(catalog), env=env, check=True)
    return env


def listed(env: dict[str, str]) -> list[dict[str, object]]:
    return json.loads(run_cli("keys", "list", "--json", env=env, check=True).stdout)  # type: ignore[no-any-return]


def test_create_prints_the_key_alone_on_the_last_line(env: dict[str, str]) -> None:
    result = run_cli("keys", "create", "--name", "ci", env=env, check=True)
    last = result.stdout.rstrip("\n").splitlines()[-1]
    assert KEY_RE.fullmatch(last)
    assert "not shown again" in result.stderr
    (key,) = listed(env)
    assert key["name"] == "ci" and key["models"] is None and key["is_admin"] is False
    assert last.startswith(str(key["prefix"]))
    assert last not in json.dumps(listed(env))
    assert last not in run_cli("keys", "list", env=env).stdout


def test_create_with_rate_limits(env: dict[str, str]) -> None:
    run_cli("keys", "create", "--name", "capped", "--rpm", "60", "--tpm", "0", env=env, check=True)
    (key,) = listed(env)
    assert (key["rpm_limit"], key["tpm_limit"]) == (60, 0)
    assert run_cli("keys", "create", "--name", "x", "--rpm", "-1", env=env).returncode == 2


def test_create_with_models_expiry_and_admin(env: dict[str, str]) -> None:
    run_cli(
        "keys",
        "create",
        "--name",
        "scoped",
        "--models",
        "openai/*",
        "--models",
        "anthropic/claude-z",
        "--expires-in",
        "1w2d",
        "--admin",
        env=env,
        check=True,
    )
    (key,) = listed(env)
    assert key["models"] == ["anthropic/claude-z", "openai/*"]
    assert key["is_admin"] is True
    assert isinstance(key["expires_at"], float)
    assert key["expires_at"] - key["created_at"] == pytest.approx(9 * 86400)


def test_list_table_shows_columns_but_no_secret(env: dict[str, str]) -> None:
    secret = run_cli("keys", "create", "--name", "tbl", env=env, check=True).stdout.split()[-1]
    table = run_cli("keys", "list", env=env, check=True).stdout
    header = table.splitlines()[0].split()
    assert header == [
        "ID",
        "NAME",
        "PREFIX",
        "CREATED",
        "EXPIRES",
        "REVOKED",
        "ADMIN",
        "RPM",
        "TPM",
        "TEAM",
        "PERSON",
        "MODELS",
    ]
    assert "tbl" in table and secret[:17] in table and secret not in table


def test_revoke(env: dict[str, str]) -> None:
    run_cli("keys", "create", "--name", "gone", env=env, check=True)
    (key,) = listed(env)
    result = run_cli("keys", "revoke", str(key["id"]), env=env, check=True)
    assert "Revoked API key" in result.stdout
    (after,) = listed(env)
    assert isinstance(after["revoked_at"], float)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--name", "x", "--models", "nope/*"), "unknown model pattern 'nope/*'"),
        (("--name", "x", "--models", "OpenAI/GPT"), "invalid model pattern"),
        (("--name", "x", "--expires-in", "soon"), "invalid duration 'soon'"),
        (("--name", "x", "--expires-in", "0d"), "invalid duration"),
        (("--name", "   "), "invalid key name"),
    ],
)
def test_create_errors_are_one_line(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = run_cli("keys", "create", *args, env=env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"error: {result.stderr.strip()[7:]}"]
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert listed(env) == []


def test_revoke_unknown_id(env: dict[str, str]) -> None:
    result = run_cli("keys", "revoke", "999", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no API key with id 999"


def test_revoke_needs_a_number(env: dict[str, str]) -> None:
    result = run_cli("keys", "revoke", "abc", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no API key with id 'abc': ids are 1 to 2147483647"
