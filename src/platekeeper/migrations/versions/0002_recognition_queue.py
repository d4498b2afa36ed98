"""recognition queue and read candidates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 19:23:30.053411
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recognition_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("image_kind", sa.String(length=16), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plates_found", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_recognition_jobs_camera_id_cameras")),
        sa.ForeignKeyConstraint(
            ["image_sha256"], ["images.sha256"], name=op.f("fk_recognition_jobs_image_sha256_images")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_jobs")),
    )
    with op.batch_alter_table("recognition_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_recognition_jobs_state_created", ["state", "created_at"], unique=False)

    with op.batch_alter_table("plate_reads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("candidates", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plate_reads", schema=None) as batch_op:
        batch_op.drop_column("candidates")

    with op.batch_alter_table("recognition_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_recognition_jobs_state_created")

    op.drop_table("recognition_jobs")
