"""Price history: every price a model has had or will have, and the price each ledger row
was charged at; fields imports leave alone (``models.pinned``).

The history starts from what the audit log says each model cost, change by change, and
who set it; a model whose log is silent (or says something else than the catalog) gets
its current price from the time its row was last written.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PRICES = ("prompt", "completion", "input_cache_read", "input_cache_write")
_DAILY_KEY = ("team_id", "day", "caller_kind", "caller_id", "person", "model", "upstream")
_SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "cost_pusd",
)


def upgrade() -> None:
    prices = op.create_table(
        "model_prices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("effective_from", sa.Double(), nullable=False),
        sa.Column("prompt", sa.Double(), nullable=False),
        sa.Column("completion", sa.Double(), nullable=False),
        sa.Column("input_cache_read", sa.Double(), nullable=False),
        sa.Column("input_cache_write", sa.Double(), nullable=True),
        sa.Column("set_at", sa.Double(), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("cancelled_at", sa.Double(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_model_prices_model_effective_from", "model_prices", ["model", "effective_from"]
    )
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column("pinned", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("usage") as batch:
        batch.add_column(sa.Column("price_id", sa.Integer(), nullable=True))
    # the aggregates count each price apart (0: none, as every row before this), so that
    # reports by price read them, never the raw rows
    with op.batch_alter_table("usage_daily") as batch:
        batch.add_column(
            sa.Column("price_id", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.drop_constraint("pk_usage_daily", type_="primary")
        batch.create_primary_key("pk_usage_daily", [*_DAILY_KEY, "price_id"])
    op.bulk_insert(prices, _history(op.get_bind()))


def _history(conn: sa.Connection) -> list[dict[str, Any]]:
    """Price rows from the audit log's model changes, then each model's current price
    where the log does not end with it."""
    rows: list[dict[str, Any]] = []
    last: dict[str, tuple[Any, ...]] = {}
    logged_at: dict[str, float] = {}
    log = conn.execute(
        sa.text(
            "SELECT at, actor_kind, actor_id, actor_name, action, entity_id, after "
            "FROM audit_log WHERE entity = 'model' ORDER BY id"
        )
    )
    for at, kind, actor_id, name, action, model_id, after in log:
        if isinstance(after, str):
            after = json.loads(after)
        cost = after.get("cost") if isinstance(after, dict) else None
        if not isinstance(cost, dict) or action == "model.delete":
            last.pop(model_id, None)
            continue
        read = cost.get("input_cache_read")
        price = (
            cost.get("prompt"),
            cost.get("completion"),
            cost.get("prompt") if read is None else read,
            cost.get("input_cache_write"),
        )
        if not all(isinstance(p, int | float) for p in price[:3]) or last.get(model_id) == price:
            continue
        last[model_id] = price
        logged_at[model_id] = at
        rows.append(_row(model_id, price, at, (kind, actor_id, name), action))
    models = conn.execute(
        sa.text(
            "SELECT id, cost_prompt, cost_completion, cost_input_cache_read, "
            "cost_input_cache_write, updated_at FROM models"
        )
    )
    for model_id, prompt, completion, read, write, updated_at in models:
        price = (prompt, completion, read, write)
        if last.get(model_id) != price:  # never before the last logged change
            who = ("system", "migration", "price history began")
            at = max(updated_at, logged_at.get(model_id, updated_at))
            rows.append(_row(model_id, price, at, who, "model.update"))
    return rows


def _row(
    model_id: str, price: tuple[Any, ...], at: float, who: tuple[str, str, str], action: str
) -> dict[str, Any]:
    kind, actor_id, name = who
    return {
        "model": model_id,
        "effective_from": at,
        **dict(zip(_PRICES, price, strict=True)),
        "set_at": at,
        "actor_kind": kind[:16],
        "actor_id": actor_id[:200],
        "actor_name": name[:200],
        "action": action[:32],
    }


def downgrade() -> None:
    key, sums = ", ".join(_DAILY_KEY), ", ".join(_SUMS)
    summed = ", ".join(f"sum({name})" for name in _SUMS)
    op.execute(  # the rows of each price, summed back into one per key
        f"INSERT INTO usage_daily ({key}, price_id, {sums}) "  # noqa: S608 - constants
        f"SELECT {key}, -1, {summed} FROM usage_daily GROUP BY {key}"
    )
    op.execute("DELETE FROM usage_daily WHERE price_id <> -1")
    with op.batch_alter_table("usage_daily") as batch:
        batch.drop_constraint("pk_usage_daily", type_="primary")
        batch.drop_column("price_id")
        batch.create_primary_key("pk_usage_daily", list(_DAILY_KEY))
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("price_id")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("pinned")
    op.drop_index("ix_model_prices_model_effective_from", "model_prices")
    op.drop_table("model_prices")
