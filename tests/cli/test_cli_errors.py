"""Configuration errors: non-zero exit, one clear line, no traceback; --help everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.processes import quantized_env, run_cli

COMMANDS = [
    (),
    ("serve",),
    ("keys",),
    ("keys", "create"),
    ("keys", "list"),
    ("keys", "revoke"),
    ("models",),
    ("models", "list"),
    ("models", "import"),
    ("models", "export"),
    ("usage",),
    ("budgets",),
    ("budgets", "list"),
    ("budgets", "set"),
    ("budgets", "remove"),
    ("dashboard",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "quantized")
def test_help_on_every_command(command: tuple[str, ...], sqlite_url: str) -> None:
    result = run_cli(*command, "--help", env=quantized_env(sqlite_url))
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: quantized")


def one_line_error(result: object) -> str:
    assert result.returncode == 1, result  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/db", "unsupported database URL scheme 'mysql'"),
        ("not a url", "invalid database URL"),
        ("sqlite://", "sqlite URL needs a file path"),
    ],
)
def test_bad_database_urls(url: str, message: str) -> None:
    for command in (("keys", "list"), ("models", "list"), ("serve",)):
        line = one_line_error(run_cli(*command, env=quantized_env(url)))
        assert message in line


def test_unreachable_postgres() -> None:
    env = quantized_env("postgresql://postgres:secret-pw@127.0.0.1:1/nope")
    line = one_line_error(run_cli("keys", "list", env=env))
    assert "cannot use the database" in line
    assert "secret-pw" not in line


def test_unwritable_sqlite_location(tmp_path: Path) -> None:
    env = quantized_env(f"sqlite:///{tmp_path}/missing-dir/q.db")
    assert "cannot use the database" in one_line_error(run_cli("keys", "list", env=env))


def test_bad_setting_value(sqlite_url: str) -> None:
    env = quantized_env(sqlite_url, QUANTIZED_REFRESH_INTERVAL="often")
    line = one_line_error(run_cli("keys", "list", env=env))
    assert "QUANTIZED_REFRESH_INTERVAL" in line


def test_bad_redis_url_stops_serve(sqlite_url: str) -> None:
    env = quantized_env(sqlite_url, QUANTIZED_REDIS_URL="rediss://:pw-123@h:6379/0?ssl_ca_cert=x")
    for command in (("serve", "--port", "0"), ("keys", "list")):
        line = one_line_error(run_cli(*command, env=env))
        assert line.startswith("error: invalid setting QUANTIZED_REDIS_URL: unknown Redis URL")
        assert "'ssl_ca_cert'" in line and "pw-123" not in line


def test_unreadable_shipped_catalog_override(tmp_path: Path) -> None:
    env = quantized_env(
        f"sqlite:///{tmp_path}/q.db", QUANTIZED_CATALOG_FILE=str(tmp_path / "absent.yaml")
    )
    line = one_line_error(run_cli("serve", "--port", "0", env=env))
    assert "cannot read catalog file" in line


def test_dotenv_file_configures_the_database(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"QUANTIZED_DATABASE_URL=sqlite:///{tmp_path / 'from-env.db'}\n")
    env = {k: v for k, v in quantized_env("unused").items() if k != "QUANTIZED_DATABASE_URL"}
    result = run_cli("keys", "create", "--name", "dotenv", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("usage", "--start", "yesterday"), "start must be a date"),
        (("usage", "--caller", "someone"), "invalid caller 'someone'"),
        (("budgets", "set", "bogus", "--daily", "1"), "invalid caller 'bogus'"),
        (("budgets", "set", "key:999", "--daily", "1"), "no API key with id 999"),
        (("budgets", "set", "jwt:alice", "--daily", "-3"), "--daily must be between 0"),
        (("budgets", "remove", "jwt:nobody"), "no budget for jwt:nobody"),
    ],
)
def test_usage_and_budget_errors(sqlite_url: str, args: tuple[str, ...], message: str) -> None:
    line = one_line_error(run_cli(*args, env=quantized_env(sqlite_url)))
    assert message in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("budgets", "set", "key:9223372036854775808", "--daily", "1"), "invalid caller"),
        (("budgets", "set", "key:²", "--daily", "1"), "invalid caller"),
        (("budgets", "set", "key:٣", "--daily", "1"), "invalid caller"),
        (("budgets", "set", "key:03", "--daily", "1"), "no leading zeros"),
        (("budgets", "set", "jwt:a\x01b", "--daily", "1"), "invalid caller"),
        (("budgets", "set", "jwt:alice", "--daily", "1000001"), "--daily must be between 0"),
        (("budgets", "set", "key:2147483647", "--daily", "1"), "no API key with id 2147483647"),
        (("budgets", "remove", "key:99999999999"), "invalid caller"),
        (("keys", "revoke", "1" * 5000), "no API key with id '1111"),
        (("keys", "revoke", "²"), "no API key with id '²'"),
        (("keys", "revoke", "2147483648"), "no API key with id '2147483648'"),
        (("keys", "revoke", "2147483647"), "no API key with id 2147483647"),
        (("keys", "create", "--name", "x", "--models", "nobody/*"), "unknown model pattern"),
        (("usage", "--model", "a\x01b"), "model must be at most 200 characters"),
        (("usage", "--caller", "key:9223372036854775808"), "invalid caller"),
    ],
)
def test_bad_ids_and_values_on_each_database(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    line = one_line_error(run_cli(*args, env=quantized_env(database_url)))
    assert message in line
    assert "Traceback" not in line


def test_usage_mistakes_are_one_line(sqlite_url: str) -> None:
    for args in (("keys", "create"), ("keys", "nope"), ("budgets", "set")):
        result = run_cli(*args, env=quantized_env(sqlite_url))
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "--help" in lines[0], lines


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "q.db").write_bytes(b"this is not a database" * 100)
    line = one_line_error(run_cli("keys", "list", env=quantized_env(f"sqlite:///{tmp_path}/q.db")))
    assert "cannot use the database" in line


def test_a_postgres_database_that_does_not_exist() -> None:
    env = quantized_env("postgresql://postgres:pw-secret@127.0.0.1:5432/no_such_database_q")
    line = one_line_error(run_cli("budgets", "list", env=env))
    assert "cannot use the database" in line and "pw-secret" not in line


def test_anything_unexpected_is_one_line_without_its_text(tmp_path: Path, sqlite_url: str) -> None:
    """A failure no handler expects (made here by a sitecustomize hook in the real process)
    ends as one line naming its kind, never its message (it could hold a secret)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import quantized.services.keys as keys\n"
        "async def broken(engine):\n"
        "    raise RuntimeError('postgresql://admin:hunter2@db/prod')\n"
        "keys.list_keys = broken\n"
        "import quantized.cli.keys as cli_keys\n"
        "cli_keys.list_keys = broken\n"
    )
    env = quantized_env(sqlite_url, PYTHONPATH=str(hook))
    line = one_line_error(run_cli("keys", "list", env=env))
    assert "RuntimeError" in line
    assert "hunter2" not in line
