"""``quantized models diff|check|pin|unpin`` and the import's limits, as real processes on a
real database: the diff is what the import then does, the check's exit code says whether
prices drifted, pins hold against imports."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from quantized.catalog.diff import ONLY_STORED
from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import query
from tests.utils.processes import quantized_env, run_cli

SOURCE = {"url": "https://acme.example/pricing", "checked": "2026-01-05", "note": "list price, EU"}


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return quantized_env(database_url)


def first(tmp_path: Path) -> Path:
    return write_catalog(
        tmp_path / "a.yaml",
        [
            entry("acme/a", price_source=SOURCE),
            entry("acme/b", cost={"prompt": 2, "completion": 8, "input_cache_read": 2}),
            entry("acme/gone"),
        ],
    )


def second(tmp_path: Path) -> Path:
    """acme/a renamed and dearer, acme/b's completion price up, acme/c new, acme/gone gone."""
    return write_catalog(
        tmp_path / "b.yaml",
        [
            entry(
                "acme/a",
                name="A2",
                price_source=SOURCE,
                cost={"prompt": 1.25, "completion": 4, "input_cache_read": 0.25},
            ),
            entry("acme/b", cost={"prompt": 2, "completion": 9, "input_cache_read": 2}),
            entry("acme/c"),
        ],
    )


def stored(env: dict[str, str]) -> dict[str, dict[str, object]]:
    exported = run_cli("models", "export", env=env, check=True).stdout
    return {m["id"]: m for m in yaml.safe_load(exported)["models"]}


def section(lines: list[str], title: str) -> list[str]:
    """The lines of one section of the diff (its title line up to the next title)."""
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return lines[start:end]


def test_diff_shows_what_an_import_would_do_and_changes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    run_cli("models", "import", str(first(tmp_path)), env=env, check=True)
    run_cli("models", "pin", "acme/b", "cost.completion", env=env, check=True)
    before = run_cli("models", "export", env=env, check=True).stdout
    source = second(tmp_path)

    shown = run_cli("models", "diff", str(source), env=env, check=True).stdout

    assert "\x1b[" not in shown  # no colours when stdout is not a terminal
    lines = shown.splitlines()
    assert section(lines, "added") == ["added (1)", "  + acme/c"]
    changed = section(lines, "changed")
    assert changed[:2] == ["changed (1)", "  ~ acme/a"]
    rows = changed[2:]
    assert [row.split() for row in rows] == [
        ["name", "A", "→", "A2"],
        ["cost.prompt", "1", "→", "1.25", "(+25%)"],
    ]
    assert len({row.index("→") for row in rows}) == 1  # aligned columns
    assert section(lines, "pinned")[1:] == [
        "  = acme/b",
        "      cost.completion  8  kept; source: 9 (+12.5%)",
    ]
    assert section(lines, "removed")[1].split() == ["-", "acme/gone", "active", "keep"]
    assert "unchanged (1)" in lines
    assert lines[-1].startswith(f"{source}: 1 to add, 1 to change, 1 not in the source")

    answer = run_cli("models", "diff", "--json", str(source), env=env, check=True).stdout
    report = json.loads(answer)
    assert report["object"] == "catalog.import_preview" and report["format"] == "quantized"
    assert report["added"] == ["acme/c"] and report["unchanged"] == ["acme/b"]
    assert report["changed"] == [
        {
            "id": "acme/a",
            "fields": {
                "name": {"old": "A", "new": "A2"},
                "cost.prompt": {"old": 1, "new": 1.25, "relative": 0.25},
            },
        }
    ]
    assert report["pinned"] == [
        {"id": "acme/b", "fields": {"cost.completion": {"old": 8, "new": 9, "relative": 0.125}}}
    ]
    assert report["removed"] == [
        {"id": "acme/gone", "status": "active", "action": "keep", "note": None}
    ]
    limited = run_cli(
        "models", "diff", "--json", "--only", "cost", "--missing", "delete", str(source), env=env
    )
    assert json.loads(limited.stdout)["skipped"] == [{"name": "acme/c", "reason": ONLY_STORED}]
    assert json.loads(limited.stdout)["removed"][0]["action"] == "delete"
    assert run_cli("models", "export", env=env, check=True).stdout == before


def test_check_exits_1_on_drift_beyond_the_tolerance(env: dict[str, str], tmp_path: Path) -> None:
    run_cli("models", "import", str(first(tmp_path)), env=env, check=True)
    run_cli("models", "pin", "acme/b", "cost", env=env, check=True)
    source = second(tmp_path)

    strict = run_cli("models", "check", str(source), env=env)

    assert strict.returncode == 1, strict.stderr
    table = strict.stdout.splitlines()
    assert table[0].split() == ["MODEL", "FIELD", "STORED", "SOURCE", "CHANGE", "STATUS", "NOTE"]
    assert table[1].split() == [
        "acme/a",
        "cost.prompt",
        "1",
        "1.25",
        "+25%",
        "drift",
        "list",
        "price,",
        "EU",
    ]
    assert table[2].split() == ["acme/b", "cost.completion", "8", "9", "+12.5%", "pinned"]
    assert table[-1] == (
        "2 models compared, 1 drift beyond tolerance 0 (1 pinned, 0 within tolerance)."
    )
    loose = run_cli("models", "check", "--tolerance", "0.3", str(source), env=env)
    assert loose.returncode == 0, loose.stdout
    assert "0 drifts beyond tolerance 0.3 (1 pinned, 1 within tolerance)" in loose.stdout
    tight = run_cli("models", "check", "--tolerance", "0.2", str(source), env=env)
    assert tight.returncode == 1
    others = run_cli("models", "check", "--models", "acme/b,acme/c", str(source), env=env)
    assert others.returncode == 0 and "1 model compared, 0 drifts" in others.stdout
    same = run_cli("models", "check", str(first(tmp_path)), env=env)
    assert same.returncode == 0 and "3 models compared, 0 drifts" in same.stdout
    nothing = run_cli("models", "check", "--models", "zzz/*", str(source), env=env)
    assert nothing.returncode == 2 and "no model of" in nothing.stderr  # never a silent pass
    nan = run_cli("models", "check", "--tolerance", "nan", str(source), env=env)
    assert nan.returncode == 2 and nan.stderr.startswith("error: --tolerance")

    answer = run_cli("models", "check", "--json", str(source), env=env)
    assert answer.returncode == 1
    report = json.loads(answer.stdout)
    assert (report["compared"], report["beyond_tolerance"]) == (2, 1)
    assert report["drifts"][0] == {
        "model": "acme/a",
        "field": "cost.prompt",
        "stored": 1,
        "source": 1.25,
        "relative": 0.25,
        "pinned": False,
        "beyond_tolerance": True,
        "note": "list price, EU",
    }

    missing = run_cli("models", "check", str(tmp_path / "nope.yaml"), env=env)
    assert missing.returncode == 2 and "cannot read catalog file" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("models: [\n")
    assert run_cli("models", "check", str(broken), env=env).returncode == 2
    negative = run_cli("models", "check", "--tolerance", "-1", str(source), env=env)
    assert negative.returncode == 2 and "--tolerance" in negative.stderr


def test_pin_and_unpin(env: dict[str, str], tmp_path: Path) -> None:
    run_cli("models", "import", str(first(tmp_path)), env=env, check=True)

    pinned = run_cli("models", "pin", "acme/a", "cost", "name", env=env, check=True)
    assert pinned.stdout.strip() == "acme/a pinned: name, cost"
    unpinned = run_cli("models", "unpin", "acme/a", "cost.prompt", env=env, check=True)
    assert unpinned.stdout.strip() == (
        "acme/a pinned: name, cost.completion, cost.input_cache_read, cost.input_cache_write"
    )
    run_cli("models", "import", str(second(tmp_path)), env=env, check=True)
    a = stored(env)["acme/a"]
    assert a["name"] == "A" and a["cost"] == {
        "prompt": 1.25,
        "completion": 4,
        "input_cache_read": 0.25,
    }
    assert a["pinned"] == [
        "name",
        "cost.completion",
        "cost.input_cache_read",
        "cost.input_cache_write",
    ]
    actions = query(
        env["QUANTIZED_DATABASE_URL"],
        "SELECT action, actor_kind FROM audit_log WHERE entity_id = ? ORDER BY id",
        "acme/a",
    )
    assert [(r["action"], r["actor_kind"]) for r in actions] == [
        ("model.create", "cli"),
        ("model.update", "cli"),  # pin
        ("model.update", "cli"),  # unpin
        ("model.update", "cli"),  # the import's new prompt price
    ]

    bad = run_cli("models", "pin", "acme/a", "cost", "colour", env=env)
    assert bad.returncode == 2 and "'colour' is not a field an import can change" in bad.stderr
    unknown = run_cli("models", "unpin", "acme/nope", "name", env=env)
    assert unknown.returncode == 1 and "no model 'acme/nope'" in unknown.stderr
    none = run_cli("models", "pin", "acme/a", env=env)
    assert none.returncode == 2
    run_cli("models", "unpin", "acme/a", "name,cost", env=env, check=True)
    assert "pinned" not in stored(env)["acme/a"]


def test_import_limits(env: dict[str, str], tmp_path: Path) -> None:
    run_cli("models", "import", str(first(tmp_path)), env=env, check=True)
    source = second(tmp_path)

    result = run_cli(
        "models", "import", "--only", "cost", "--missing", "deprecate", str(source), env=env
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"Imported 2 models from {source}: 0 new, 2 updated, 0 unchanged, 1 skipped. "
        "1 stored models not in the source: 1 deprecated, 0 deleted, 0 kept."
    )
    assert f"skipped acme/c: {ONLY_STORED}" in result.stderr
    models = stored(env)
    assert set(models) == {"acme/a", "acme/b", "acme/gone"}
    assert models["acme/a"]["name"] == "A"  # only prices changed
    assert models["acme/a"]["cost"]["prompt"] == 1.25
    assert models["acme/gone"]["status"] == "deprecated"

    added = run_cli("models", "import", "--models", "acme/c", str(source), env=env, check=True)
    assert "1 new, 0 updated, 0 unchanged" in added.stdout
    assert stored(env)["acme/a"]["name"] == "A"
    deleted = run_cli(
        "models",
        "import",
        "--models",
        "acme/g*",
        "--models",
        "acme/c",
        "--missing",
        "delete",
        str(source),
        env=env,
        check=True,
    )
    assert "1 deleted" in deleted.stdout
    assert set(stored(env)) == {"acme/a", "acme/b", "acme/c"}

    bad = run_cli("models", "import", "--only", "cost,colour", str(source), env=env)
    assert bad.returncode == 2 and "--only" in bad.stderr and "'colour'" in bad.stderr
    empty = run_cli("models", "import", "--models", ",", str(source), env=env)
    assert empty.returncode == 2 and "--models" in empty.stderr


def in_terminal(*args: str, env: dict[str, str]) -> str:
    """What ``quantized ARGS`` writes to a real terminal (a pseudo-terminal)."""
    terminal, other = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "quantized", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=other,
        stderr=other,
    )
    os.close(other)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(terminal, 4096)
            except OSError:  # EIO: every writer has closed it
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(terminal)
        process.wait(timeout=60)
    return b"".join(chunks).decode()


def test_diff_is_coloured_on_a_terminal(sqlite_url: str, tmp_path: Path) -> None:
    env = quantized_env(sqlite_url)
    run_cli("models", "import", str(first(tmp_path)), env=env, check=True)
    run_cli("models", "pin", "acme/b", "cost", env=env, check=True)
    shown = in_terminal("models", "diff", str(second(tmp_path)), env=env)
    assert "\x1b[32m  + acme/c" in shown  # green added
    assert "\x1b[33m  ~ acme/a" in shown  # yellow changed
    assert "\x1b[36m  = acme/b" in shown  # cyan pinned
    assert "\x1b[31m  - acme/gone" in shown  # red removed
