"""The system audits of policy 462.6(c): one row per audit of a period, its findings, and its sampled searches.

Named apart from the audit log (``platekeeper.audit``): a *system audit* reads the log and the other domains'
records over a period and leaves its own record. No plate text is kept here: a finding names users, counts and
the audit events it rests on (by sequence number), and a sample item points at its audit event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["AUDIT_STATES", "RESOLUTIONS", "SECTIONS", "SEVERITIES", "AuditFinding", "AuditSampleItem", "SystemAudit"]

AUDIT_STATES = {
    "scheduled": "Scheduled",
    "in_progress": "In progress: checks run, sample under review",
    "findings_recorded": "Findings recorded: waiting for approval",
    "approved": "Approved by a second person",
    "closed": "Closed",
}
SECTIONS = {
    "462.5": "462.5 Access: who may reach ALPR data (training, accounts, vendors)",
    "462.6": "462.6 Monitoring: every access documented, used for legitimate purposes only, audited",
    "462.7": "462.7 Sharing: written requests, reviewed and approved before release",
    "462.9": "462.9 Retention: legal holds and the purge",
    "462.10": "462.10 Training: current at the time of each access",
    "1798.90.51-.53": "Civil Code 1798.90.51-.53: security, usage policy and the access record",
}
SEVERITIES = {"info": "Information", "low": "Low", "medium": "Medium", "high": "High"}
RESOLUTIONS = {
    "supported": "Supported: the purpose, case number and justification support the search",
    "not_supported": "Not supported: corrected with the user",
    "referred": "Referred to the user's supervisor",
}


class SystemAudit(Base):
    """One audit of a period: its state, who ran and who approved it, the sample's seed, and the report's figures
    (the figures are kept as they were when the checks ran, so the report reads the same later)."""

    __tablename__ = "system_audits"
    __table_args__ = (Index("ix_system_audits_status", "status", "approved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_from: Mapped[datetime] = mapped_column(UTCDateTime)
    period_to: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")  # a key of AUDIT_STATES
    scheduled_by: Mapped[str] = mapped_column(String(64))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    performed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sample_seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    method: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    findings_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approval_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditFinding(Base):
    """One finding: its kind (the check), the policy section, the severity, the user concerned and what was found
    (counts and the audit events it rests on, never a plate)."""

    __tablename__ = "system_audit_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("system_audits.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    section: Mapped[str] = mapped_column(String(20))  # a key of SECTIONS
    severity: Mapped[str] = mapped_column(String(10))  # a key of SEVERITIES
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    event_seqs: Mapped[list[int]] = mapped_column(JSON, default=list)  # the audit events it rests on (a few)


class AuditSampleItem(Base):
    """One search drawn for review by hand, and the reviewer's finding and resolution."""

    __tablename__ = "system_audit_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("system_audits.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1..N in the order drawn
    event_seq: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    finding: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)  # a key of RESOLUTIONS
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notice_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the referral's notice
