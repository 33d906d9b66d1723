"""Alembic environment: migrations always run on a connection handed in by
``quantized.store.migrate`` (the app never reads alembic.ini)."""

from __future__ import annotations

from alembic import context

from quantized.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
