"""reads keep their OCR text and gain a person's correction (Civil Code 1798.90.51(b)(2)(F))

When the visual check of an alert finds a misread, the officer records what the plate really says, or that it is
unreadable. The read keeps ``plate`` (what the reader made of it) and gains ``corrected_plate`` (or
``correction = 'unreadable'``), who corrected it and when; search and the historical-hit search use both texts.

Revision ID: 0006_read_corrections
Revises: 0005_alert_purge
Create Date: 2026-12-07 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_read_corrections"
down_revision = "0005_alert_purge"
branch_labels = None
depends_on = None


COLUMNS = ("corrected_plate", "correction", "corrected_by", "corrected_at")


def upgrade() -> None:
    # plain ADD COLUMN on both engines: a batch rebuild of plate_reads would trip the alerts' foreign key on SQLite
    op.add_column("plate_reads", sa.Column("corrected_plate", sa.String(16), nullable=True))
    op.add_column("plate_reads", sa.Column("correction", sa.String(16), nullable=True))
    op.add_column("plate_reads", sa.Column("corrected_by", sa.String(64), nullable=True))
    op.add_column("plate_reads", sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_plate_reads_corrected_plate", "plate_reads", ["corrected_plate"])


def downgrade() -> None:
    op.drop_index("ix_plate_reads_corrected_plate", table_name="plate_reads")
    for column in reversed(COLUMNS):  # SQLite 3.35+ and PostgreSQL drop a plain column in place
        op.execute(f"ALTER TABLE plate_reads DROP COLUMN {column}")
