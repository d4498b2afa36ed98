"""Notices: what a guard or the scheduled verification found, for the supervisors, the administrator and, for a
breach, the custodian, open until someone acknowledges it with a note."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["NOTICE_KINDS", "NOTICE_SEVERITIES", "USER_KINDS", "Notice"]

NOTICE_KINDS = {
    "guard": "A guard on searches",
    "verification": "Verification of the audit chain",
    "referral": "A search referred to its user's supervisor by a system audit",
}
USER_KINDS = ("guard", "referral")  # notices about one user's searches, for the supervisors
NOTICE_SEVERITIES = {
    "notice": "Notice",
    "stop": "Search stopped",
    "breach": "Breach",
}


class Notice(Base):
    """One finding: its kind, severity and rule, the user concerned, what was found (counts, never a plate), who is
    told, and who acknowledged it, when and with what note."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_open", "acknowledged_at", "severity"),
        Index("ix_notices_rule_subject", "rule", "subject", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # a key of NOTICE_KINDS
    severity: Mapped[str] = mapped_column(String(16))  # a key of NOTICE_SEVERITIES
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the user concerned
    subject_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finding: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)  # roles told
    dedupe_key: Mapped[str] = mapped_column(String(64), default="")
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledgement_note: Mapped[str | None] = mapped_column(Text, nullable=True)
