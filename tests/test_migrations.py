"""Migrations: the schema they build matches the models, and they run down and up again."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from platekeeper.db import Database, utcnow
from platekeeper.retention.models import PurgeFileBatch, PurgeRun, PurgeRunBatch
from platekeeper.schema import Base, for_dialect


def _heads() -> str:
    from alembic.script import ScriptDirectory

    from platekeeper.db import MIGRATIONS

    config = Database("sqlite://")._alembic_config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def test_models_match_migrations(database: Database) -> None:
    with database.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": for_dialect(conn.dialect.name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
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


def test_a_running_purge_keeps_its_removed_ids_and_queued_files_across_the_upgrade_to_batches(
    database: Database,
) -> None:
    """0013 packs the ids an interrupted run recorded, and the files it queued, one row each, into batch rows: its
    certificate still covers them and its files are still deleted after the upgrade; a downgrade gives them back."""
    database.downgrade("0012_transparency")
    ids = sorted(uuid.uuid4() for _ in range(3))
    digests = sorted(f"{i:064x}" for i in range(4))
    items = sa.table("purge_run_items", sa.column("run_id", sa.Integer()), sa.column("read_id", sa.Uuid()))
    queue = sa.table("purge_file_queue", sa.column("sha256", sa.String()), sa.column("run_id", sa.Integer()))
    now = utcnow()
    with database.session() as session:
        run = PurgeRun(cutoff=now, plate_text_cutoff=now, started_at=now, status="running", trigger="command")
        session.add(run)
        session.flush()
        run_id = run.id
        session.execute(sa.insert(items), [{"run_id": run_id, "read_id": read_id} for read_id in ids])
        session.execute(sa.insert(queue), [{"sha256": digest, "run_id": run_id} for digest in digests])
    database.upgrade()
    with database.session() as session:
        batches = session.scalars(sa.select(PurgeRunBatch).where(PurgeRunBatch.run_id == run_id)).all()
        assert sorted(read_id for batch in batches for read_id in batch.unpack()) == ids
        files = session.scalars(sa.select(PurgeFileBatch).where(PurgeFileBatch.run_id == run_id)).all()
        assert sorted(digest for batch in files for digest in batch.listed()) == digests
    database.downgrade("0012_transparency")
    with database.engine.connect() as conn:
        assert sorted(conn.scalars(sa.select(items.c.read_id).where(items.c.run_id == run_id))) == ids
        assert sorted(conn.scalars(sa.select(queue.c.sha256).where(queue.c.run_id == run_id))) == digests
    database.upgrade()
