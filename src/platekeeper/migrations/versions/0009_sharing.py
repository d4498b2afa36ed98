"""sharing with other agencies and Public Records Act requests (policy 462.7; Civil Code 1798.90.55)

``sharing_agencies`` is the registry of agencies (type, jurisdiction, ORI, partner agreement); ``sharing_requests``
holds written requests from agencies and under the Public Records Act, with the rule decisions, the review, the
approved scope, the PRA deadline, determination and per-field redactions; ``sharing_releases`` is the register (one
row per fulfilment, with its counts); ``sharing_links`` the recipients' single-use download links (token hashes).

Revision ID: 0009_sharing
Revises: 0008_retention
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sharing"
down_revision = "0008_retention"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def _agencies() -> None:
    op.create_table(
        "sharing_agencies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("jurisdiction", sa.String(32), nullable=False),
        sa.Column("ori", sa.String(9), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("contacts", sa.Text(), nullable=False),
        sa.Column("partner_agreement_until", sa.Date(), nullable=True),
        sa.Column("partner_max_days", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", WHEN, nullable=True),
    )


def _requests() -> None:
    op.create_table(
        "sharing_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("sharing_agencies.id"), nullable=True),
        sa.Column("requester_name", sa.String(200), nullable=False),
        sa.Column("requester_contact", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("plates", sa.JSON(), nullable=False),
        sa.Column("since", WHEN, nullable=False),
        sa.Column("until", WHEN, nullable=False),
        sa.Column("camera_ids", sa.JSON(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("document_type", sa.String(40), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("entered_at", WHEN, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("approved_scope", sa.JSON(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("pra_due_on", sa.Date(), nullable=True),
        sa.Column("pra_extended", sa.Boolean(), nullable=False),
        sa.Column("pra_extension_reason", sa.Text(), nullable=True),
        sa.Column("pra_determination", sa.String(16), nullable=True),
        sa.Column("pra_response", sa.Text(), nullable=True),
        sa.Column("redactions", sa.JSON(), nullable=True),
        sa.Column("redactions_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_sharing_requests_status", "sharing_requests", ["channel", "status"])


def upgrade() -> None:
    _agencies()
    _requests()
    op.create_table(
        "sharing_releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("sharing_requests.id"), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("released_by", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("delivered_at", WHEN, nullable=True),
        sa.Column("delivered_to", sa.String(200), nullable=True),
    )
    op.create_index("ix_sharing_releases_created", "sharing_releases", ["created_at"])
    op.create_table(
        "sharing_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("release_id", sa.Integer(), sa.ForeignKey("sharing_releases.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("used_from", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sharing_links")
    op.drop_index("ix_sharing_releases_created", table_name="sharing_releases")
    op.drop_table("sharing_releases")
    op.drop_index("ix_sharing_requests_status", table_name="sharing_requests")
    op.drop_table("sharing_requests")
    op.drop_table("sharing_agencies")
