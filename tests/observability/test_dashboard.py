"""The shipped Grafana dashboard: a valid dashboard model whose every query reads metrics (and
labels) a real gateway exposes after some traffic, and ``quantized dashboard`` prints it."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.utils.processes import quantized_env, run_cli
from tests.utils.stacks import Stack, start_stack

SHARED_REDIS = "redis://127.0.0.1:6379/0"
"""Redis makes the gateway expose ``quantized_redis_up`` (absent without one)."""
CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__range"}
ADDED_BY_PROMETHEUS = {"job", "instance"}
METRIC = re.compile(r"\bquantized_\w+")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")
BY = re.compile(r"\bby\s*\(([^)]*)\)")
AGGREGATION = re.compile(r"\b(?:sum|min|max|avg|count)\s*\(")
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Query:
    panel: str
    expr: str
    legend: str


def dashboard_text() -> str:
    return (resources.files("quantized") / "data" / "grafana-dashboard.json").read_text("utf-8")


def load_dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(dashboard_text())
    return loaded


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels (a collapsed row keeps its own) included."""
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict[str, Any]) -> list[Query]:
    """Every panel target's PromQL expression."""
    return [
        Query(panel["title"], target["expr"], target.get("legendFormat", ""))
        for panel in all_panels(dashboard)
        for target in panel.get("targets", [])
    ]


def variable_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    """The queries of the dashboard's query variables (Grafana's label_values), by name."""
    return {
        v["name"]: v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        for v in dashboard["templating"]["list"]
        if v["type"] == "query"
    }


def names(text: str, pattern: re.Pattern[str]) -> set[str]:
    return {name.strip() for found in pattern.findall(text) for name in found.split(",")} - {""}


def send_traffic(stack: Stack, chats: int) -> None:
    """``chats`` chats on fake/gpt (100 prompt, 40 cached, 20 completion tokens each), and one of
    each request that makes the rest of the dashboard's series appear: a stream (time to first
    token), a fallback, an upstream's refusal, a capability refusal, a bad key."""
    with stack.client() as client:
        for _ in range(chats):
            answer = client.post(CHAT, json={"model": "fake/gpt", "messages": HELLO})
            assert answer.status_code == 200, answer.text
        streamed = client.post(
            CHAT, json={"model": "fake/claude", "messages": HELLO, "stream": True}
        )
        assert streamed.status_code == 200 and "data: [DONE]" in streamed.text, streamed.text
        fell_back = client.post(CHAT, json={"model": "fake/fallback", "messages": HELLO})
        assert fell_back.status_code == 200, fell_back.text
        rejected = client.post(CHAT, json={"model": "fake/rejects", "messages": HELLO})
        assert rejected.status_code == 400, rejected.text
        incapable = client.post(CHAT, json={"model": "fake/embed", "messages": HELLO})
        assert incapable.status_code == 400, incapable.text
    with stack.client("sk-quantized-not-a-key") as stranger:
        refused = stranger.post(CHAT, json={"model": "fake/gpt", "messages": HELLO})
        assert refused.status_code == 401, refused.text


def start_redis_stack(workdir: Path) -> Stack:
    return start_stack(
        workdir,
        QUANTIZED_REDIS_URL=SHARED_REDIS,
        QUANTIZED_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """Label names by sample name, from a real gateway's /metrics after traffic."""
    stack = start_redis_stack(tmp_path_factory.mktemp("dashboard"))
    try:
        send_traffic(stack, chats=2)
        answer = httpx.get(
            f"{stack.gateway.url}/metrics",
            headers={"Authorization": f"Bearer {stack.admin_key}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        labels: dict[str, set[str]] = {}
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                labels.setdefault(sample.name, set()).update(sample.labels)
        yield labels
    finally:
        stack.gateway.stop()
        stack.upstream.stop()


def test_the_dashboard_is_a_valid_grafana_model() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] and dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    panels = all_panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids are not unique"
    boxes = []
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] >= 0 and box["w"] > 0 and box["h"] > 0 and box["x"] + box["w"] <= 24
        boxes.append((panel["title"], box))
    for i, (title, a) in enumerate(boxes):
        for other, b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, f"panels {title!r} and {other!r} overlap"


def test_every_panel_queries_the_chosen_prometheus() -> None:
    dashboard = load_dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "instance"} <= variables.keys()
    source = {"type": "prometheus", "uid": "${datasource}"}
    panels = [p for p in all_panels(dashboard) if p["type"] != "row"]
    assert len(panels) >= 15
    for panel in panels:
        targets = panel.get("targets", [])
        assert targets, f"panel {panel['title']!r} has no target"
        assert panel["datasource"] == source, panel["title"]
        refs = [target["refId"] for target in targets]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in targets:
            assert target["datasource"] == source, panel["title"]
            assert METRIC.search(target["expr"]), (panel["title"], target["expr"])
    for name in ("job", "instance"):
        assert variables[name]["datasource"] == source


def test_every_variable_the_dashboard_uses_is_defined() -> None:
    """An import input (``${DS_PROMETHEUS}``), a template variable or one of Grafana's own: an
    undefined one would reach Prometheus as text."""
    dashboard = load_dashboard()
    defined = {v["name"] for v in dashboard["templating"]["list"]} | GRAFANA_VARIABLES
    inputs = {i["name"] for i in dashboard["__inputs"]}
    assert inputs == {"DS_PROMETHEUS"}
    used = {a or b for a, b in VARIABLE.findall(dashboard_text())}
    assert used - defined - inputs == set()
    assert "DS_PROMETHEUS" in used, "the import input is never used"
    for query in queries(dashboard):
        assert 'job=~"$job"' in query.expr and 'instance=~"$instance"' in query.expr, query


def test_every_query_reads_metrics_and_labels_the_gateway_exposes(
    exposed: dict[str, set[str]],
) -> None:
    dashboard = load_dashboard()
    used: set[str] = set()
    for query in queries(dashboard):
        metrics = set(METRIC.findall(query.expr))
        missing = metrics - exposed.keys()
        assert not missing, f"{query.panel!r}: {sorted(missing)} not in /metrics"
        used |= metrics
        labels = set().union(*(exposed[m] for m in metrics)) | ADDED_BY_PROMETHEUS
        wanted = names(query.expr, MATCHER) | names(query.expr, BY)
        assert wanted <= labels, f"{query.panel!r}: no label {sorted(wanted - labels)}"
        shown = set(LEGEND_LABEL.findall(query.legend))
        if BY.search(query.expr):
            kept = names(query.expr, BY)
        elif AGGREGATION.search(query.expr):
            kept = set()
        else:
            kept = labels
        assert shown <= kept, f"{query.panel!r}: legend shows {sorted(shown - kept)}, dropped"
    for name, query in variable_queries(dashboard).items():
        assert set(METRIC.findall(query)) <= exposed.keys(), (name, query)
    # Every metric of the gateway is on the dashboard (a new one needs a panel, or a reason).
    families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in exposed}
    shown_families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in used}
    assert families - shown_families == set()


def test_quantized_dashboard_prints_the_shipped_json(tmp_path: Path) -> None:
    result = run_cli("dashboard", env=quantized_env(f"sqlite:///{tmp_path / 'q.db'}"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == dashboard_text()
    assert json.loads(result.stdout)["uid"] == load_dashboard()["uid"]
    assert not (tmp_path / "q.db").exists(), "printing the dashboard needs no database"
