"""the audit log seals a keyed digest of each plate an event carries; the text sits beside it, to be forgotten

Plate text in the audit log is itself ALPR data (policy 462.9). From this revision, each plate-bearing field of a
new event holds ``{"digest": ...}`` in the sealed details, and its text goes to ``audit_plate_texts``, which may
only be forgotten (text set NULL after ``audit.plate_detail_days``): triggers refuse any other change and any
deletion. Events written before this revision keep their text in the sealed details: the chain cannot be rewritten.

Revision ID: 0007_audit_plate_digests
Revises: 0006_read_corrections
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_audit_plate_digests"
down_revision = "0006_read_corrections"
branch_labels = None
depends_on = None

REFUSED = "audit_plate_texts: a plate text may only be forgotten (set NULL), never changed or deleted"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_plate_texts_forget_only BEFORE UPDATE ON audit_plate_texts
       WHEN NEW.text IS NOT NULL OR NEW.seq IS NOT OLD.seq OR NEW.field IS NOT OLD.field
         OR NEW.digest IS NOT OLD.digest OR NEW.occurred_at IS NOT OLD.occurred_at
       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
    f"""CREATE TRIGGER audit_plate_texts_no_delete BEFORE DELETE ON audit_plate_texts
       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION audit_plate_texts_forget_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           IF NEW.text IS NULL AND NEW.seq = OLD.seq AND NEW.field = OLD.field AND NEW.digest = OLD.digest
              AND NEW.occurred_at = OLD.occurred_at THEN
             RETURN NEW;
           END IF;
         END IF;
         RAISE EXCEPTION '{REFUSED}';
       END $$""",
    """CREATE TRIGGER audit_plate_texts_forget_only BEFORE UPDATE OR DELETE ON audit_plate_texts
       FOR EACH ROW EXECUTE FUNCTION audit_plate_texts_forget_only()""",
    """CREATE TRIGGER audit_plate_texts_no_truncate BEFORE TRUNCATE ON audit_plate_texts
       FOR EACH STATEMENT EXECUTE FUNCTION audit_plate_texts_forget_only()""",
]


def upgrade() -> None:
    op.create_table(
        "audit_plate_texts",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"],
            ["audit_events.seq"],
            name=op.f("fk_audit_plate_texts_seq_audit_events"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", "field", name=op.f("pk_audit_plate_texts")),
    )
    op.create_index("ix_audit_plate_texts_digest", "audit_plate_texts", ["digest"])
    op.create_index(
        "ix_audit_plate_texts_kept_occurred_at",
        "audit_plate_texts",
        ["occurred_at"],
        sqlite_where=sa.text("text IS NOT NULL"),
        postgresql_where=sa.text("text IS NOT NULL"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_plate_texts_no_truncate ON audit_plate_texts")
        op.execute("DROP TRIGGER IF EXISTS audit_plate_texts_forget_only ON audit_plate_texts")
        op.execute("DROP FUNCTION IF EXISTS audit_plate_texts_forget_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_plate_texts_forget_only")
        op.execute("DROP TRIGGER IF EXISTS audit_plate_texts_no_delete")
    op.drop_index("ix_audit_plate_texts_kept_occurred_at", table_name="audit_plate_texts")
    op.drop_index("ix_audit_plate_texts_digest", table_name="audit_plate_texts")
    op.drop_table("audit_plate_texts")
