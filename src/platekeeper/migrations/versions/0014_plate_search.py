"""wildcard plate searches use an index on PostgreSQL: trigram (pg_trgm) for inner and suffix wildcards, a pattern
btree for prefixes

A partial-plate search (``7AB*``, ``7?BC123``, ``*C123``) matched every row of ``plate_reads``: at a million reads
it took 0.2 to 1 s, growing with the table. PostgreSQL's ``pg_trgm`` (in Debian's PostgreSQL, a trusted extension
since PostgreSQL 13: the database's owner may create it) gives GIN indexes that serve ``LIKE`` with any wildcard on
``plate`` and ``corrected_plate``, and a ``text_pattern_ops`` btree serves a known prefix whatever the database's
collation. SQLite keeps its plain table: it matches with ``GLOB``, which its plate index serves for a prefix.

The indexes are built in the upgrade's transaction, which holds off new reads while they build (a minute or two a
million reads): upgrade with ``platekeeper serve`` stopped (docs/architecture.md, "Search").

Revision ID: 0014_plate_search
Revises: 0013_purge_batches
Create Date: 2026-12-08 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_plate_search"
down_revision = "0013_purge_batches"
branch_labels = None
depends_on = None

TRIGRAM = (("ix_plate_reads_plate_trgm", "plate"), ("ix_plate_reads_corrected_trgm", "corrected_plate"))
PATTERN = "ix_plate_reads_plate_pattern"


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    installed = connection.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
    if not installed:
        try:
            with connection.begin_nested():  # a refusal rolls back to here, and is said plainly below
                connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError as exc:
            raise RuntimeError(
                "platekeeper's plate search needs PostgreSQL's pg_trgm extension, and this role may not create it "
                f"({str(exc.orig).strip().splitlines()[0]}): ask the database's owner (PostgreSQL 13 or later) or a "
                "superuser to run `CREATE EXTENSION pg_trgm;` in this database, then run `platekeeper db upgrade` "
                "again"
            ) from exc
    for name, column in TRIGRAM:
        op.create_index(name, "plate_reads", [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
    op.create_index(PATTERN, "plate_reads", ["plate"], postgresql_ops={"plate": "text_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(PATTERN, table_name="plate_reads")
    for name, _ in TRIGRAM:
        op.drop_index(name, table_name="plate_reads")
    # pg_trgm stays: other databases' objects may use it, and dropping an extension needs more than its use did
