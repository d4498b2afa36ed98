"""guards on every search and their notices (policy 462.6)

``search_activity`` holds one row per search page or plate story the guards watch (who, when, whether it named a
plate, results shown and matched, digests of the context and the justification, the case number; never a plate),
so each rule's count is an indexed query. ``notices`` holds what a guard or the scheduled verification of the audit
chain found, who is told, and who acknowledged it with which note.

Revision ID: 0010_guards
Revises: 0009_sharing
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_guards"
down_revision = "0009_sharing"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "search_activity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("plate_less", sa.Boolean(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("context_key", sa.String(64), nullable=False),
        sa.Column("justification_digest", sa.String(64), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
    )
    op.create_index("ix_search_activity_user_at", "search_activity", ["username", "at"])
    op.create_index("ix_search_activity_context_at", "search_activity", ["context_key", "at"])
    op.create_index("ix_search_activity_justification", "search_activity", ["username", "justification_digest", "at"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("subject_role", sa.String(64), nullable=True),
        sa.Column("raised_at", WHEN, nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("acknowledged_at", WHEN, nullable=True),
        sa.Column("acknowledgement_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_notices_open", "notices", ["acknowledged_at", "severity"])
    op.create_index("ix_notices_rule_subject", "notices", ["rule", "subject", "dedupe_key"])


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("search_activity")
