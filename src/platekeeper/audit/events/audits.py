"""Audit events of the system audits (462.6(c)): scheduled, run, each sampled search reviewed or referred to a
supervisor, findings recorded, approved by a second person, closed; every refused step and every report read."""

from __future__ import annotations

from typing import ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "SystemAuditApproved",
    "SystemAuditClosed",
    "SystemAuditFindingsRecorded",
    "SystemAuditReferred",
    "SystemAuditReportViewed",
    "SystemAuditRun",
    "SystemAuditSampleReviewed",
    "SystemAuditScheduled",
    "SystemAuditStepRefused",
]


class SystemAuditScheduled(AuditEventType):
    """A system audit of a period was scheduled."""

    action: ClassVar[str] = "audits.schedule"
    audit_id: int = detail("System audit")
    period_from: str = detail("Period from")
    period_to: str = detail("Period to")


class SystemAuditRun(AuditEventType):
    """A system audit ran its automatic checks over its period and drew its random sample (the seed recorded)."""

    action: ClassVar[str] = "audits.run"
    audit_id: int = detail("System audit")
    accesses: int = detail("Accesses to plate data in the period")
    findings: int = detail("Findings")
    sample: int = detail("Searches sampled")
    seed: int = detail("Sample seed")
    chain_intact: bool = detail("Audit chain intact")


class SystemAuditSampleReviewed(AuditEventType):
    """A sampled search was reviewed by hand: its finding and resolution recorded."""

    action: ClassVar[str] = "audits.sample_review"
    audit_id: int = detail("System audit")
    item: int = detail("Sample item")
    event_seq: int = detail("Audit event reviewed")
    resolution: str = detail("Resolution")
    finding: str = detail("Finding")


class SystemAuditReferred(AuditEventType):
    """A sampled search whose justification does not support it was referred to the user's supervisor."""

    action: ClassVar[str] = "audits.refer"
    audit_id: int = detail("System audit")
    item: int = detail("Sample item")
    event_seq: int = detail("Audit event referred")
    subject: str | None = detail("User concerned")
    notice_id: int = detail("Notice")


class SystemAuditFindingsRecorded(AuditEventType):
    """The performer recorded the audit's findings: every sampled search reviewed."""

    action: ClassVar[str] = "audits.findings_recorded"
    audit_id: int = detail("System audit")
    findings: int = detail("Findings")
    reviewed: int = detail("Searches reviewed")
    referred: int = detail("Searches referred")


class SystemAuditApproved(AuditEventType):
    """A second person approved the audit's findings."""

    action: ClassVar[str] = "audits.approve"
    audit_id: int = detail("System audit")
    performed_by: str = detail("Performed by")
    note: str = detail("Note")


class SystemAuditClosed(AuditEventType):
    """An approved audit was closed; its records are kept until the plan's record period ends."""

    action: ClassVar[str] = "audits.close"
    audit_id: int = detail("System audit")
    keep_until: str = detail("Kept until")


class SystemAuditStepRefused(AuditEventType):
    """A step on a system audit was refused (self-approval, a step out of order, a bad value)."""

    action: ClassVar[str] = "audits.refused"
    audit_id: int | None = optional_detail("System audit")
    step: str = detail("Step")
    field: str = detail("Field")
    reason: str = detail("Reason")


class SystemAuditReportViewed(AuditEventType):
    """A system audit's report was read or downloaded."""

    action: ClassVar[str] = "audits.report"
    audit_id: int = detail("System audit")
    format: str = detail("Format")
