"""legal holds, purge runs with their certificates, evidence exports (policy 462.9)

``legal_holds`` (and ``legal_hold_reads`` for a hold naming specific reads) keep reads past retention for a case;
``purge_runs`` holds each purge's cutoff, counts and signed certificate; ``purge_run_items`` the read ids a running
purge has removed (hashed into the certificate, then dropped); ``purge_file_queue`` image files whose rows are gone,
waiting to be deleted from disk; ``evidence_exports`` each evidence package written for a hold. The purge asks which
images a batch of reads still shares with other reads, so ``plate_reads`` gains an index on each image column,
and ``recognition_jobs`` one on its image.

Revision ID: 0008_retention
Revises: 0007_audit_plate_digests
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_retention"
down_revision = "0007_audit_plate_digests"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("plate", sa.String(16), nullable=True),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("since", WHEN, nullable=True),
        sa.Column("until", WHEN, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", WHEN, nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_legal_holds_status", "legal_holds", ["status"])
    op.create_index("ix_legal_holds_case", "legal_holds", ["case_number"])
    op.create_table(
        "legal_hold_reads",
        sa.Column("hold_id", sa.Integer(), sa.ForeignKey("legal_holds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("read_id", sa.Uuid(), primary_key=True),
    )
    op.create_index("ix_legal_hold_reads_read", "legal_hold_reads", ["read_id"])
    op.create_table(
        "purge_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cutoff", WHEN, nullable=False),
        sa.Column("plate_text_cutoff", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("certificate", sa.JSON(), nullable=True),
    )
    op.create_index("ix_purge_runs_status", "purge_runs", ["status"])
    op.create_table(
        "purge_run_items",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("purge_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("read_id", sa.Uuid(), primary_key=True),
    )
    op.create_table(
        "purge_file_queue",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
    )
    op.create_table(
        "evidence_exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hold_id", sa.Integer(), sa.ForeignKey("legal_holds.id"), nullable=False),
        sa.Column("booking_number", sa.String(64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("exported_by", sa.String(64), nullable=False),
        sa.Column("exported_at", WHEN, nullable=False),
    )
    op.create_index("ix_evidence_exports_hold", "evidence_exports", ["hold_id"])
    op.create_index("ix_plate_reads_crop_sha256", "plate_reads", ["crop_sha256"])
    op.create_index("ix_plate_reads_overview_sha256", "plate_reads", ["overview_sha256"])
    op.create_index("ix_recognition_jobs_image_sha256", "recognition_jobs", ["image_sha256"])


def downgrade() -> None:
    op.drop_index("ix_recognition_jobs_image_sha256", table_name="recognition_jobs")
    op.drop_index("ix_plate_reads_overview_sha256", table_name="plate_reads")
    op.drop_index("ix_plate_reads_crop_sha256", table_name="plate_reads")
    for table in ("evidence_exports", "purge_file_queue", "purge_run_items", "purge_runs", "legal_hold_reads"):
        op.drop_table(table)
    op.drop_table("legal_holds")
