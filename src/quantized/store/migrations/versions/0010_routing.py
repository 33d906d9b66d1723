"""Routing: a model's strategy among its upstreams; how many upstream attempts a request took.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column("routing", sa.String(32), nullable=False, server_default="ordered")
        )
    with op.batch_alter_table("usage") as batch:
        batch.add_column(
            sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("attempts")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("routing")
