"""Alembic environment: runs migrations on the engine handed in by the appliance."""

from __future__ import annotations

from alembic import context

from appliance.db.metadata import load_metadata

config = context.config
engine = config.attributes["engine"]
target_metadata = load_metadata()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
