"""the posted policy's versions (Civil Code 1798.90.51(b))

``policy_versions`` keeps each distinct usage and privacy policy generated from the running config: its number, the
SHA-256 of its document, when it took effect, and the document itself (every statement the page makes, as data), so
every older version stays readable as it was posted.

Revision ID: 0012_transparency
Revises: 0010_guards
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_transparency"
down_revision = "0011_audits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
