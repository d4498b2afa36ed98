"""The audit event row and the plate texts beside it.

Event rows are only ever inserted; database triggers refuse UPDATE, DELETE and TRUNCATE. A plate text row may only
be forgotten (its text set NULL); triggers refuse any other change, and its deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime

__all__ = ["AuditEvent", "AuditPlateText"]


class AuditEvent(Base):
    """One audited action, chained to its predecessor by ``prev_hash`` and sealed by ``hash`` (HMAC-SHA256)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_username", "username"),
        Index("ix_audit_events_action", "action"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    organization: Mapped[str | None] = mapped_column(String(40), nullable=True)
    role: Mapped[str | None] = mapped_column(String(40), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    case_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class AuditPlateText(Base):
    """The text of one plate-bearing field of an event (``field``: its stored key, ``query.plate`` for a nested
    one), whose sealed details hold only ``{"digest": ...}``: HMAC-SHA256 of the normalized text under a key derived
    from the audit key. ``text`` is set NULL after ``audit.plate_detail_days``; the digest stays, so the event
    still verifies and is still found by its plate (:mod:`platekeeper.audit.plates`). The foreign key cascades so
    that a row never outlives its event; both tables' triggers refuse the change before any cascade."""

    __tablename__ = "audit_plate_texts"
    __table_args__ = (
        Index("ix_audit_plate_texts_digest", "digest"),
        Index(
            "ix_audit_plate_texts_kept_occurred_at",
            "occurred_at",
            sqlite_where=sql_text("text IS NOT NULL"),
            postgresql_where=sql_text("text IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("audit_events.seq", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
