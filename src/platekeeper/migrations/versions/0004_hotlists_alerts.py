"""hotlists, entries and alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _hotlists() -> None:
    op.create_table(
        "hotlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("refresh_hours", sa.Integer(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlists")),
        sa.UniqueConstraint("name", name=op.f("uq_hotlists_name")),
    )
    op.create_table(
        "hotlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotlist_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("nic", sa.String(length=16), nullable=True),
        sa.Column("make", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=40), nullable=True),
        sa.Column("color", sa.String(length=40), nullable=True),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotlist_id"],
            ["hotlists.id"],
            name=op.f("fk_hotlist_entries_hotlist_id_hotlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlist_entries")),
    )
    with op.batch_alter_table("hotlist_entries", schema=None) as batch_op:
        batch_op.create_index("ix_hotlist_entries_hotlist_plate", ["hotlist_id", "plate"], unique=False)
        batch_op.create_index("ix_hotlist_entries_plate", ["plate"], unique=False)


def _alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("read_id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("matched_text", sa.String(length=16), nullable=False),
        sa.Column("matched_via", sa.String(length=16), nullable=False),
        sa.Column("match_confidence", sa.Float(), nullable=False),
        sa.Column("match_kind", sa.String(length=16), nullable=False),
        sa.Column("state_mismatch", sa.Boolean(), nullable=False),
        sa.Column("list_stale", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("hotlist_id", sa.Integer(), nullable=True),
        sa.Column("hotlist_name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visual_result", sa.String(length=40), nullable=True),
        sa.Column("visual_by", sa.String(length=64), nullable=True),
        sa.Column("visual_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clets_result", sa.String(length=40), nullable=True),
        sa.Column("clets_reference", sa.String(length=40), nullable=True),
        sa.Column("clets_by", sa.String(length=64), nullable=True),
        sa.Column("clets_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(length=40), nullable=True),
        sa.Column("disposition_by", sa.String(length=64), nullable=True),
        sa.Column("disposition_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["read_id"], ["plate_reads.id"], name=op.f("fk_alerts_read_id_plate_reads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_alerts_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_alerts_read_id", ["read_id"], unique=False)
        batch_op.create_index("ix_alerts_camera_id", ["camera_id"], unique=False)


def upgrade() -> None:
    _hotlists()
    _alerts()


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("hotlist_entries")
    op.drop_table("hotlists")
