"""Alembic environment: migrates the engine handed over by platekeeper.db.Database (or the configured URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from platekeeper.schema import Base, for_dialect

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from platekeeper.config import get_settings

    engine = create_engine(get_settings().resolved_database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=for_dialect(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
