"""``quantized models``: list, import (upsert, all or nothing), export (round trip)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.utils.catalogs import entry, write_catalog
from tests.utils.processes import quantized_env, run_cli


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return quantized_env(database_url)


def test_import_list_export(env: dict[str, str], tmp_path: Path) -> None:
    first = write_catalog(tmp_path / "a.yaml", [entry("openai/a"), entry("mistralai/b")])
    result = run_cli("models", "import", str(first), env=env, check=True)
    assert "2 new, 0 updated" in result.stdout

    second = write_catalog(
        tmp_path / "b.yaml",
        [
            entry("openai/a", cost={"prompt": 9, "completion": 9}),
            entry("qwen/c", cost={"prompt": 2, "completion": 8, "input_cache_write": 2.5}),
        ],
    )
    result = run_cli("models", "import", str(second), env=env, check=True)
    assert "1 new, 1 updated" in result.stdout

    table = run_cli("models", "list", env=env, check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "STATUS"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert set(rows) == {"openai/a", "mistralai/b", "qwen/c"}
    assert " 9 " in rows["openai/a"]
    header = table[0]
    assert rows["qwen/c"][header.index("CACHE WRITE") :].split()[0] == "2.5"
    assert rows["openai/a"][header.index("CACHE WRITE") :].split()[0] == "-"

    exported = run_cli("models", "export", env=env, check=True).stdout
    document = yaml.safe_load(exported)
    assert [m["id"] for m in document["models"]] == ["mistralai/b", "openai/a", "qwen/c"]
    assert document["models"][1]["cost"] == {"prompt": 9, "completion": 9, "input_cache_read": 9}
    assert document["models"][2]["cost"] == {
        "prompt": 2,
        "completion": 8,
        "input_cache_read": 2,
        "input_cache_write": 2.5,
    }

    out = tmp_path / "out.yaml"
    run_cli("models", "export", "-o", str(out), env=env, check=True)
    assert out.read_text() == exported
    run_cli("models", "import", str(out), env=env, check=True)
    assert run_cli("models", "export", env=env, check=True).stdout == exported


def test_aliases_round_trip_and_clashes(env: dict[str, str], tmp_path: Path) -> None:
    first = write_catalog(tmp_path / "a.yaml", [entry("acme/a", aliases=["a", "a-2026"])])
    run_cli("models", "import", str(first), env=env, check=True)
    exported = run_cli("models", "export", env=env, check=True).stdout
    assert "aliases: [a, a-2026]" in exported
    assert yaml.safe_load(exported)["models"][0]["aliases"] == ["a", "a-2026"]

    clash = write_catalog(tmp_path / "b.yaml", [entry("acme/b", aliases=["a-2026"])])
    result = run_cli("models", "import", str(clash), env=env)
    assert result.returncode == 1
    assert "alias 'a-2026' of 'acme/b' is already an alias of 'acme/a'" in result.stderr
    assert "acme/b" not in run_cli("models", "list", env=env, check=True).stdout

    litellm = tmp_path / "litellm.json"  # a foreign catalog's clashing alias is left out
    litellm.write_text(
        '{"a-2026": {"litellm_provider": "openai", "mode": "chat",'
        ' "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}'
    )
    result = run_cli("models", "import", "--format", "litellm", str(litellm), env=env, check=True)
    assert "skipped alias: alias 'a-2026' of 'openai/a-2026' is already an alias of 'acme/a'" in (
        result.stderr
    )
    document = yaml.safe_load(run_cli("models", "export", env=env, check=True).stdout)
    assert {m["id"]: m.get("aliases") for m in document["models"]} == {
        "acme/a": ["a", "a-2026"],
        "openai/a-2026": None,
    }


def test_import_is_all_or_nothing(env: dict[str, str], tmp_path: Path) -> None:
    bad = write_catalog(
        tmp_path / "bad.yaml",
        [entry("openai/fine"), entry("openai/broken", cost={"prompt": -2, "completion": 1})],
    )
    result = run_cli("models", "import", str(bad), env=env)
    assert result.returncode == 1
    assert "entry 'openai/broken'" in result.stderr and "cost.prompt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    listing = run_cli("models", "list", env=env, check=True).stdout
    assert "openai/fine" not in listing


def test_import_errors(env: dict[str, str], tmp_path: Path) -> None:
    missing = run_cli("models", "import", str(tmp_path / "nope.yaml"), env=env)
    assert missing.returncode == 1 and "cannot read catalog file" in missing.stderr
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("models: [\n")
    result = run_cli("models", "import", str(garbage), env=env)
    assert result.returncode == 1 and "not valid YAML or JSON at line" in result.stderr
    assert "Traceback" not in missing.stderr + result.stderr


def test_export_to_unwritable_path(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("models", "export", "-o", str(tmp_path / "no" / "dir.yaml"), env=env)
    assert result.returncode == 1 and "cannot write" in result.stderr
