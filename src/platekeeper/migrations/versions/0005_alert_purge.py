"""alerts outlive their purged reads without plate data; historical alerts

Alerts were deleted with their read (ON DELETE CASCADE), which erased the dispositions the per-camera misread
rate is computed from. Now the purge releases an alert first (plate details cleared, ``read_id`` null,
``purged_at`` set) and the foreign key refuses to delete a read that still has an unreleased alert.
``historical`` marks alerts raised for past reads when their entry was imported (not a live sighting).

Revision ID: 0005_alert_purge
Revises: 0004
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_alert_purge"
down_revision = "0004"
branch_labels = None
depends_on = None

FK = "fk_alerts_read_id_plate_reads"
CHECK = "ck_alerts_read_or_purged"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("historical", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("read_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.create_foreign_key(FK, "plate_reads", ["read_id"], ["id"], ondelete="RESTRICT")
        batch_op.create_check_constraint(op.f(CHECK), "read_id IS NOT NULL OR purged_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE read_id IS NULL")  # released alerts have no read to point at any more
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.create_foreign_key(FK, "plate_reads", ["read_id"], ["id"], ondelete="CASCADE")
        batch_op.alter_column("read_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("purged_at")
        batch_op.drop_column("historical")
