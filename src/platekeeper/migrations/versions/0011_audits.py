"""the system audits of policy 462.6(c): audits, their findings and their sampled searches

``system_audits`` holds one audit of a period (its state, performer, approver, the sample's seed and the report's
figures as they were when the checks ran); ``system_audit_findings`` its findings (kind, section, severity, the
user concerned, counts and the audit events they rest on, never a plate); ``system_audit_samples`` the searches
drawn for review by hand, with each reviewer's finding and resolution.

Revision ID: 0011_audits
Revises: 0010_guards
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_audits"
down_revision = "0010_guards"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "system_audits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_from", WHEN, nullable=False),
        sa.Column("period_to", WHEN, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("scheduled_by", sa.String(64), nullable=False),
        sa.Column("scheduled_at", WHEN, nullable=False),
        sa.Column("performed_by", sa.String(64), nullable=True),
        sa.Column("run_at", WHEN, nullable=True),
        sa.Column("sample_seed", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("findings_recorded_at", WHEN, nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", WHEN, nullable=True),
        sa.Column("approval_note", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("keep_until", WHEN, nullable=True),
    )
    op.create_index("ix_system_audits_status", "system_audits", ["status", "approved_at"])
    op.create_table(
        "system_audit_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("audit_id", sa.Integer(), sa.ForeignKey("system_audits.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("section", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("event_seqs", sa.JSON(), nullable=False),
    )
    op.create_index("ix_system_audit_findings_audit_id", "system_audit_findings", ["audit_id"])
    op.create_table(
        "system_audit_samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("audit_id", sa.Integer(), sa.ForeignKey("system_audits.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("resolution", sa.String(20), nullable=True),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_system_audit_samples_audit_id", "system_audit_samples", ["audit_id"])


def downgrade() -> None:
    op.drop_table("system_audit_samples")
    op.drop_table("system_audit_findings")
    op.drop_table("system_audits")
