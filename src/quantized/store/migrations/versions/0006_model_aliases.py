"""Model aliases: the other names a model answers to.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column("aliases", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("aliases")
