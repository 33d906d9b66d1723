"""``quantized teams`` and keys in teams, on SQLite and PostgreSQL, as real processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import query
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


def ok(env: dict[str, str], *args: str) -> str:
    return run_cli(*args, env=env, check=True).stdout


def fails(env: dict[str, str], *args: str) -> str:
    """The one ``error: …`` line of a command that must fail."""
    result = run_cli(*args, env=env)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def teams(env: dict[str, str]) -> list[dict[str, Any]]:
    return json.loads(ok(env, "teams", "list", "--json"))  # type: ignore[no-any-return]


def test_create_show_update_and_delete(env: dict[str, str]) -> None:
    created = ok(env, "teams", "create", "platform", "--models", "openai/*,anthropic/claude-z")
    assert created.startswith("Created team 1 'platform'")
    ok(env, "teams", "create", "research")
    assert [(t["id"], t["name"], t["models"]) for t in teams(env)] == [
        (1, "platform", ["anthropic/claude-z", "openai/*"]),
        (2, "research", None),
    ]
    table = ok(env, "teams", "list").splitlines()
    assert table[0].split() == ["ID", "NAME", "MEMBERS", "KEYS", "CREATED", "MODELS"]
    assert "research" in table[2] and table[2].rstrip().endswith("all")

    ok(env, "teams", "update", "platform", "--name", "infra", "--models", "openai/gpt-x")
    ok(env, "teams", "update", "2", "--models", "anthropic/*")
    shown = json.loads(ok(env, "teams", "show", "infra", "--json"))
    assert (shown["name"], shown["models"], shown["members"]) == ("infra", ["openai/gpt-x"], [])
    ok(env, "teams", "update", "infra", "--all-models")
    assert "models:  all" in ok(env, "teams", "show", "1")

    assert ok(env, "teams", "delete", "research").startswith("Deleted team 2 'research'")
    assert [t["name"] for t in teams(env)] == ["infra"]
    actions = query(
        env["QUANTIZED_DATABASE_URL"],
        "SELECT action, actor_kind FROM audit_log WHERE entity = ? ORDER BY id",
        "team",
    )
    assert [a["action"] for a in actions] == [
        "team.create",
        "team.create",
        "team.update",
        "team.update",
        "team.update",
        "team.delete",
    ]
    assert {a["actor_kind"] for a in actions} == {"cli"}


def test_members(env: dict[str, str]) -> None:
    ok(env, "teams", "create", "support")
    assert ok(env, "teams", "add-member", "support", "eve@example.com").startswith("Added")
    assert "already in" in ok(env, "teams", "add-member", "support", "eve@example.com")
    ok(env, "teams", "add-member", "1", "auth0|1234")
    assert "members: auth0|1234, eve@example.com" in ok(env, "teams", "show", "support")
    assert teams(env)[0]["member_count"] == 2
    ok(env, "teams", "remove-member", "support", "auth0|1234")
    assert "is not a member" in fails(env, "teams", "remove-member", "support", "auth0|1234")
    assert json.loads(ok(env, "teams", "show", "support", "--json"))["members"] == [
        "eve@example.com"
    ]


def test_keys_in_teams(env: dict[str, str]) -> None:
    ok(env, "teams", "create", "ops", "--models", "openai/*")
    result = run_cli(
        "keys", "create", "--name", "deploy", "--team", "ops", "--person", "bob", env=env
    )
    assert result.returncode == 0, result.stderr
    assert KEY_RE.fullmatch(result.stdout.strip().splitlines()[-1])
    assert "team: 1; person: bob" in result.stderr
    ok(env, "keys", "create", "--name", "other", "--team", "1")
    (first, second) = json.loads(ok(env, "keys", "list", "--json"))
    assert (first["team_id"], first["person"]) == (1, "bob")
    assert (second["team_id"], second["person"]) == (1, None)
    row = ok(env, "keys", "list").splitlines()[1].split()
    assert row[-3:] == ["ops", "bob", "all"]
    assert teams(env)[0]["key_count"] == 2

    refused = fails(env, "teams", "delete", "ops")
    assert "2 keys that are not revoked (1, 2)" in refused and "--revoke-keys" in refused
    ok(env, "keys", "revoke", "2")
    deleted = ok(env, "teams", "delete", "ops", "--revoke-keys")
    assert deleted.strip() == "Deleted team 1 'ops'; revoked keys 1."
    after = json.loads(ok(env, "keys", "list", "--json"))
    assert all(k["revoked_at"] is not None and k["team_id"] is None for k in after)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("teams", "create", "   "), "invalid team name"),
        (("teams", "create", "42"), "cannot be only digits"),
        (("teams", "create", "x", "--models", "nope/*"), "unknown model pattern 'nope/*'"),
        (("teams", "create", "x", "--models", "Bad Pattern"), "invalid model pattern"),
        (("teams", "show", "nobody"), "no team 'nobody'"),
        (("teams", "show", "7"), "no team '7'"),
        (("teams", "update", "nobody", "--name", "y"), "no team 'nobody'"),
        (("teams", "delete", "nobody"), "no team 'nobody'"),
        (("teams", "add-member", "nobody", "eve"), "no team 'nobody'"),
        (("keys", "create", "--name", "k", "--team", "nobody"), "no team 'nobody'"),
    ],
)
def test_errors_are_one_line(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    assert message in fails(env, *args)
    assert teams(env) == []


def test_usage_mistakes(env: dict[str, str]) -> None:
    ok(env, "teams", "create", "dup")
    assert "already exists" in fails(env, "teams", "create", "dup")
    assert "nothing to change" in fails(env, "teams", "update", "dup")
    both = fails(env, "teams", "update", "dup", "--models", "openai/*", "--all-models")
    assert "not both" in both
    assert "invalid person" in fails(env, "teams", "add-member", "dup", " ")
    assert "invalid person" in fails(env, "keys", "create", "--name", "k", "--person", "a\tb")
