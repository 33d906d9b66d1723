"""Teams and people, budgets at every level, alerts, and the ledger's daily aggregates.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

The old ``budgets`` table (a daily and a monthly limit per key or token subject)
becomes rows of the new one: a ``key`` or ``person`` scope with a ``day`` and a
``month`` window, hard limits. The aggregates are filled from the ledger as it is.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "cost_pusd",
)


def _sum_columns() -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in _SUMS]


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("models", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
        sqlite_autoincrement=True,  # a deleted team's id is never given again: the ledger has it
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("added_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "person", name="pk_team_members"),
    )
    op.create_index("ix_team_members_person", "team_members", ["person"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("person", sa.String(200), nullable=True))
    with op.batch_alter_table("usage") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("person", sa.String(200), nullable=True))

    # Reports, /v1/usage and budgets read the aggregates below; the raw rows are read by
    # request id (retries) and by time (retention) only.
    op.drop_index("ix_usage_caller", table_name="usage")
    op.create_table(
        "usage_daily",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("caller_kind", sa.String(16), nullable=False),
        sa.Column("caller_id", sa.String(200), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("upstream", sa.String(300), nullable=False),
        *_sum_columns(),
        sa.PrimaryKeyConstraint(  # a team's days first: team reports read a range of it
            "team_id",
            "day",
            "caller_kind",
            "caller_id",
            "person",
            "model",
            "upstream",
            name="pk_usage_daily",
        ),
        postgresql_with={"fillfactor": 70},  # room for updates in place (HOT): no index writes
    )
    op.create_index("ix_usage_daily_caller", "usage_daily", ["caller_kind", "caller_id", "day"])
    op.create_index("ix_usage_daily_person", "usage_daily", ["person", "day"])
    op.create_index("ix_usage_daily_day", "usage_daily", ["day"])  # organisation-wide reports
    op.create_table(
        "usage_team_daily",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        *_sum_columns(),
        sa.PrimaryKeyConstraint("day", "team_id", name="pk_usage_team_daily"),
        postgresql_with={"fillfactor": 50},  # every batch updates a few of its rows
    )
    sums = (
        "count(*), sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END), sum(prompt_tokens), "
        "sum(cached_tokens), sum(cache_write_tokens), sum(completion_tokens), sum(cost_pusd)"
    )
    op.execute(
        "INSERT INTO usage_daily (day, caller_kind, caller_id, team_id, person, model, upstream, "  # noqa: S608
        f"{', '.join(_SUMS)}) SELECT day, caller_kind, caller_id, 0, '', model, "
        f"coalesce(upstream, ''), {sums} FROM usage "
        "GROUP BY day, caller_kind, caller_id, model, coalesce(upstream, '')"
    )
    op.execute(
        f"INSERT INTO usage_team_daily (day, team_id, {', '.join(_SUMS)}) "  # noqa: S608
        f"SELECT day, 0, {sums} FROM usage GROUP BY day"
    )

    old = sa.table(
        "budgets",
        sa.column("subject_kind", sa.String),
        sa.column("subject_id", sa.String),
        sa.column("daily_pusd", sa.BigInteger),
        sa.column("monthly_pusd", sa.BigInteger),
    )
    before = op.get_bind().execute(sa.select(old)).all()
    op.drop_table("budgets")
    budgets = op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_id", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("limit_pusd", sa.BigInteger(), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budgets"),
        sa.UniqueConstraint(
            "scope_kind", "scope_id", "model", "period", "days", name="uq_budgets_scope"
        ),
        sqlite_autoincrement=True,  # alerts are kept per budget id: never given again
    )
    rows = []
    now = time.time()
    for kind, subject, daily, monthly in before:
        for period, limit in (("day", daily), ("month", monthly)):
            if limit is not None:
                rows.append(
                    {
                        "scope_kind": "person" if kind == "jwt" else kind,
                        "scope_id": subject,
                        "model": "",
                        "period": period,
                        "days": 0,
                        "limit_pusd": limit,
                        "hard": True,
                        "thresholds": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    if rows:
        op.bulk_insert(budgets, rows)

    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("budget_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.String(32), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("delivered_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_budget_alerts"),
        sa.UniqueConstraint("budget_id", "window_start", "threshold", name="uq_budget_alerts_once"),
    )
    op.create_index("ix_budget_alerts_created_at", "budget_alerts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_created_at", table_name="budget_alerts")
    op.drop_table("budget_alerts")
    op.drop_table("budgets")
    op.create_table(
        "budgets",
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("daily_pusd", sa.BigInteger(), nullable=True),
        sa.Column("monthly_pusd", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", name="pk_budgets"),
    )
    op.drop_table("usage_team_daily")
    op.drop_index("ix_usage_daily_day", table_name="usage_daily")
    op.drop_index("ix_usage_daily_person", table_name="usage_daily")
    op.drop_index("ix_usage_daily_caller", table_name="usage_daily")
    op.drop_table("usage_daily")
    op.create_index("ix_usage_caller", "usage", ["caller_kind", "caller_id", "at"])
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("person")
        batch.drop_column("team_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("person")
        batch.drop_column("team_id")
    op.drop_index("ix_team_members_person", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
