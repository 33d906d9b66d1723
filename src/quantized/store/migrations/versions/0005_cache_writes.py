"""Cache writes: a model's cache-write price, and the cache-write tokens of each ledger row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("cost_input_cache_write", sa.Double(), nullable=True))
    with op.batch_alter_table("usage") as batch:
        batch.add_column(
            sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("cache_write_tokens")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("cost_input_cache_write")
