"""``quantized dashboard``: the shipped Grafana dashboard, for import or provisioning."""

from __future__ import annotations

from importlib import resources

import click

DASHBOARD = "grafana-dashboard.json"


def dashboard_json() -> str:
    """The Grafana dashboard shipped in the package, as its JSON text."""
    return (resources.files("quantized") / "data" / DASHBOARD).read_text(encoding="utf-8")


@click.command()
def dashboard() -> None:
    """Print the Grafana dashboard for the gateway's /metrics (JSON, on stdout).

    Save it (quantized dashboard > quantized.json) and import it in Grafana
    (Dashboards > New > Import, then pick the Prometheus data source that scrapes
    the gateway), or put the file where Grafana provisions dashboards from.
    """
    click.echo(dashboard_json(), nl=False)
