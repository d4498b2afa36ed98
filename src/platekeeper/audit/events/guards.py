"""Audit events of the guards and notices (462.6): searches stopped by a rule, notices raised and acknowledged, and
the scheduled verification of the audit chain."""

from __future__ import annotations

from typing import ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = ["ChainVerificationRun", "GuardStop", "NoticeAcknowledged", "NoticeRaised"]


class GuardStop(AuditEventType):
    """A guard stopped an access to plate data before it ran, naming the rule (nothing was searched or shown)."""

    action: ClassVar[str] = "guards.stop"
    rule: str = detail("Rule")
    attempted: str = detail("Attempted action")
    reason: str = detail("Reason")
    measured: int | None = optional_detail("Count")
    threshold: int | None = optional_detail("Threshold")
    window_minutes: int | None = optional_detail("Window (minutes)")
    notice_id: int | None = optional_detail("Notice")


class NoticeRaised(AuditEventType):
    """A notice was raised to the supervisors and the administrator (a guard fired) or, as a breach notice, to the
    custodian too (a large extraction, or an audit chain that does not verify)."""

    action: ClassVar[str] = "notices.raise"
    notice_id: int = detail("Notice")
    kind: str = detail("Kind")
    severity: str = detail("Severity")
    rule: str = detail("Rule")
    subject: str | None = optional_detail("User concerned")
    finding: str = detail("Finding")
    recipients: list[str] = detail("Recipients (roles)")


class NoticeAcknowledged(AuditEventType):
    """A notice was acknowledged with a note saying what was done about it."""

    action: ClassVar[str] = "notices.acknowledge"
    notice_id: int = detail("Notice")
    rule: str = detail("Rule")
    severity: str = detail("Severity")
    subject: str | None = optional_detail("User concerned")
    note: str = detail("Note")


class ChainVerificationRun(AuditEventType):
    """The audit chain and its signed checkpoints were verified by the schedule or the command line; a failure
    raised a breach notice."""

    action: ClassVar[str] = "guards.verification"
    trigger: str = detail("Trigger")
    intact: bool = detail("Intact")
    checked: int = detail("Events checked")
    problem: str | None = optional_detail("Problem")
    notice_id: int | None = optional_detail("Breach notice")
