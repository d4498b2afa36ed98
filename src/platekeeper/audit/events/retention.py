"""Audit events of retention (462.9): legal holds, purge runs and their certificates, evidence exports."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "EvidenceExported",
    "HoldDecided",
    "HoldRefusedStep",
    "HoldReleased",
    "HoldRequested",
    "HoldsViewed",
    "PurgeCertificateDownloaded",
    "PurgeDryRun",
    "PurgeFinished",
    "PurgeStarted",
]


class HoldRequested(AuditEventType):
    """A legal hold was requested: reads to keep past retention for a case, waiting for a second person."""

    action: ClassVar[str] = "holds.request"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    hold_id: int = detail("Hold")
    hold_case: str = detail("Hold's case number")
    reason: str = detail("Reason")
    scope: str = detail("Scope")
    plate: str | None = optional_detail("Plate")
    camera_id: int | None = optional_detail("Camera")
    since: datetime | None = optional_detail("Since")
    until: datetime | None = optional_detail("Until")
    reads_named: int | None = optional_detail("Reads named")


class HoldDecided(AuditEventType):
    """A legal hold was approved (it now keeps its reads) or refused, by someone other than who asked for it."""

    action: ClassVar[str] = "holds.decide"
    hold_id: int = detail("Hold")
    decision: str = detail("Decision")
    requested_by: str = detail("Requested by")
    note: str | None = optional_detail("Note")


class HoldRefusedStep(AuditEventType):
    """A step on a legal hold was refused (approving one's own request, a release without a reason, a hold that
    is not in the state the step needs)."""

    action: ClassVar[str] = "holds.refused"
    hold_id: int = detail("Hold")
    step: str = detail("Step")
    why: str = detail("Why")


class HoldReleased(AuditEventType):
    """A legal hold was released with a reason: its reads fall back under normal retention."""

    action: ClassVar[str] = "holds.release"
    hold_id: int = detail("Hold")
    reason: str = detail("Reason")


class HoldsViewed(AuditEventType):
    """The list of legal holds, or one hold with what it covers, was opened."""

    action: ClassVar[str] = "holds.view"
    shown: int = detail("Holds shown")
    hold_id: int | None = optional_detail("Hold")


class PurgeStarted(AuditEventType):
    """A purge of expired reads began (or resumed after an interruption), with its cutoff."""

    action: ClassVar[str] = "retention.purge_started"
    run_id: int = detail("Purge run")
    cutoff: datetime = detail("Reads captured before")
    resumed: bool = detail("Resumed")
    trigger: str = detail("Started by")


class PurgeFinished(AuditEventType):
    """A purge finished: what it removed, what holds kept, and its signed certificate's digest over the removed
    read ids."""

    action: ClassVar[str] = "retention.purge"
    run_id: int = detail("Purge run")
    cutoff: datetime = detail("Reads captured before")
    reads: int = detail("Reads removed")
    images: int = detail("Image files removed")
    jobs: int = detail("Recognition jobs removed")
    alerts: int = detail("Alerts released")
    plate_texts: int = detail("Audit plate texts forgotten")
    search_activity: int = detail("Guard activity rows deleted")
    sharing_requests: int | None = optional_detail("Sharing requests disposed after their retention")
    system_audits: int | None = optional_detail("Closed system audits disposed after their keep-until date")
    held_reads: int = detail("Expired reads kept under hold")
    purged_ids_sha256: str = detail("SHA-256 of the removed read ids")
    signed_by: str = detail("Signing key")


class PurgeDryRun(AuditEventType):
    """A purge was previewed without removing anything: what it would remove now."""

    action: ClassVar[str] = "retention.purge_dry_run"
    cutoff: datetime = detail("Reads captured before")
    reads: int = detail("Reads due")
    images: int = detail("Images named by them")
    jobs: int = detail("Recognition jobs due")
    plate_texts: int = detail("Audit plate texts due to be forgotten")
    search_activity: int = detail("Guard activity rows due")
    held_reads: int = detail("Expired reads kept under hold")
    sharing_requests: int | None = optional_detail("Sharing requests past their retain-until date")
    system_audits: int | None = optional_detail("Closed system audits past their keep-until date")


class PurgeCertificateDownloaded(AuditEventType):
    """A purge certificate was downloaded (JSON or PDF)."""

    action: ClassVar[str] = "retention.certificate"
    run_id: int = detail("Purge run")
    format: str = detail("Format")


class EvidenceExported(AuditEventType):
    """Held reads were exported as an evidence package with a signed manifest and a chain-of-custody document."""

    action: ClassVar[str] = "evidence.export"
    hold_id: int = detail("Hold")
    booking_number: str = detail("Property booking number")
    reads: int = detail("Reads")
    images: int = detail("Images")
    audit_events: int = detail("Audit events")
    manifest_sha256: str = detail("Manifest SHA-256")
    location: str = detail("Written to")
