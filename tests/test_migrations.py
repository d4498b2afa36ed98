"""Migrations: the schema they build matches the models, and they run down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from platekeeper.db import Database
from platekeeper.schema import Base


def _heads() -> str:
    from alembic.script import ScriptDirectory

    from platekeeper.db import MIGRATIONS

    config = Database("sqlite://")._alembic_config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def test_models_match_migrations(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(database: Database) -> None:
    database.downgrade("base")
    assert database.current_revision() is None
    database.upgrade()
    assert database.current_revision() == _heads()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path}/wal.db")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()
