"""the files of disposed sharing requests are listed in the transaction that deletes the requests

A disposed request's document and package were deleted from disk after the purge's batch committed, with nothing
recorded: a purge killed between the two left them on disk for good, past the request's retention. They are now
listed in ``sharing_disposed_files`` in the same transaction, and each purge deletes what is listed.

Revision ID: 0015_sharing_disposed_files
Revises: 0014_plate_search
Create Date: 2026-12-08 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_sharing_disposed_files"
down_revision = "0014_plate_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sharing_disposed_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sharing_disposed_files")
