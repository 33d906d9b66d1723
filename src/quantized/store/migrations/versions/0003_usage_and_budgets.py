"""The usage ledger and budgets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("caller_kind", sa.String(16), nullable=False),
        sa.Column("caller_id", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("upstream", sa.String(300), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cached_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_pusd", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage"),
    )
    op.create_index("ix_usage_caller", "usage", ["caller_kind", "caller_id", "at"])
    op.create_index("ix_usage_at", "usage", ["at"])
    op.create_index("ix_usage_request_id", "usage", ["request_id"], unique=True)
    op.create_table(
        "budgets",
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("daily_pusd", sa.BigInteger(), nullable=True),
        sa.Column("monthly_pusd", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", name="pk_budgets"),
    )


def downgrade() -> None:
    op.drop_table("budgets")
    op.drop_index("ix_usage_request_id", table_name="usage")
    op.drop_index("ix_usage_at", table_name="usage")
    op.drop_index("ix_usage_caller", table_name="usage")
    op.drop_table("usage")
