"""Model endpoints: the model APIs a model serves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column(
                "endpoints",
                sa.JSON(),
                nullable=False,
                server_default=sa.text("""'["chat", "messages", "responses"]'"""),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("endpoints")
