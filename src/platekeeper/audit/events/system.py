"""Audit events of the audit log itself, backups, image-key rotation and the demo."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "AuditChainVerified",
    "AuditCheckpointFailed",
    "AuditExported",
    "AuditPlateRevealed",
    "AuditRevealRefused",
    "AuditViewed",
    "BackupRestored",
    "BackupWritten",
    "DemoSeeded",
    "ImagesRepaired",
    "KeyRotationFinished",
    "KeyRotationStarted",
]


class _AuditFiltered(AuditEventType):
    """The filters of a look at the audit log, each recorded only when it was set (``AuditFilter.describe``)."""

    plate_fields: ClassVar[tuple[str, ...]] = ("plate_filter",)
    lookup_fields: ClassVar[tuple[str, ...]] = ("plate_filter",)
    username: str | None = optional_detail("User filter")
    action_filter: str | None = optional_detail("Action filter", alias="action")
    plate_filter: str | None = optional_detail("Plate filter")
    case_number: str | None = optional_detail("Case number filter")
    purpose: str | None = optional_detail("Purpose filter")
    since: datetime | None = optional_detail("Since")
    until: datetime | None = optional_detail("Until")


class AuditViewed(_AuditFiltered):
    """The audit log was viewed.

    Each filter field is recorded only when it was set."""

    action: ClassVar[str] = "audit.view"
    page: int = detail("Page")


class AuditExported(_AuditFiltered):
    """A period of the audit log was exported (CSV or JSON Lines, alone or in a ZIP with its proof).

    The filters set are recorded, with the format, how many events the export holds, the newest event it could
    hold (events recorded after it, this one included, are not in it), whether the proof came with it and whether
    its plates were masked."""

    action: ClassVar[str] = "audit.export"
    format: str = detail("Format")
    rows: int = detail("Events exported")
    through_seq: int = detail("Up to event")
    proof: bool = detail("With the signed checkpoint and seals proving it complete (ZIP)")
    masked: bool = detail("Plates masked")


class AuditPlateRevealed(AuditEventType):
    """A masked plate of one audit event was revealed to someone whose role reaches no plate data (an auditor).

    Recorded before the plate is shown, with the stated reason as the event's justification; the plate is sealed
    as its digest like any other, so filtering the log by that plate finds who had it revealed."""

    action: ClassVar[str] = "audit.reveal_plate"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    revealed_seq: int = detail("Event revealed")
    revealed_action: str = detail("Its action")
    field: str = detail("Plate field")
    plate: str = detail("Plate")


class AuditRevealRefused(AuditEventType):
    """A reveal of a masked plate was refused (the reason stated is the event's justification); nothing was shown."""

    action: ClassVar[str] = "audit.reveal_refused"
    revealed_seq: int = detail("Event asked for")
    field: str = detail("Plate field")
    problem: str = detail("Why it was refused")


class AuditCheckpointFailed(AuditEventType):
    """A signed checkpoint of the chain's head could not be written to a sink."""

    action: ClassVar[str] = "audit.checkpoint_failed"
    sink: str = detail("Sink")
    error: str = detail("Error")
    seq: int = detail("Checkpoint at event")


class AuditChainVerified(AuditEventType):
    """The audit chain was verified."""

    action: ClassVar[str] = "audit.verify"
    checked: int = detail("Events checked")
    first_bad_seq: int | None = detail("First bad event")
    reason: str | None = detail("Problem")
    anchor: str | None = detail("Checkpoint matched")
    anchor_problem: str | None = detail("Checkpoint problem")


class DemoSeeded(AuditEventType):
    """Demo data was seeded."""

    action: ClassVar[str] = "system.demo_seeded"
    reads: int = detail("Reads")
    cameras: int = detail("Cameras")
    users: int = detail("Accounts created")


class KeyRotationStarted(AuditEventType):
    """`keys rotate` began re-sealing the image files (under a new key, or resuming)."""

    action: ClassVar[str] = "storage.rotation_started"
    key_id: str = detail("Key")
    resumed: bool = detail("Resumed")
    new_key: bool = detail("New key")


class KeyRotationFinished(AuditEventType):
    """`keys rotate` ended a pass: files re-sealed, already current, failed; keys retired."""

    action: ClassVar[str] = "storage.rotation_finished"
    key_id: str = detail("Key")
    resumed: bool = detail("Resumed")
    new_key: bool = detail("New key")
    files: int = detail("Files")
    resealed: int = detail("Re-sealed")
    already_current: int = detail("Already current")
    failed: int = detail("Failed")
    retired: list[str] = detail("Keys retired")


class ImagesRepaired(AuditEventType):
    """`images check --repair` brought the image folder and the `images` table back in agreement.

    Counts only: what was found, what was removed or changed, and what could not be repaired. No digest or plate
    text is recorded."""

    action: ClassVar[str] = "storage.images_repaired"
    orphan_files: int = detail("Orphan files deleted")
    stray_temp_files: int = detail("Stray temp files deleted")
    orphan_rows: int = detail("Unreferenced image rows deleted")
    missing_file_rows: int = detail("Rows of missing files deleted")
    references_cleared: int = detail("Read image references cleared")
    jobs_failed: int = detail("Recognition jobs failed")
    failures: int = detail("Could not be repaired")


class BackupWritten(AuditEventType):
    """A backup of the installation was written (database, images, checkpoints; not the keys)."""

    action: ClassVar[str] = "system.backup"
    destination: str = detail("Destination")
    files: int = detail("Files")
    bytes: int = detail("Bytes")
    audit_head: dict[str, Any] | None = detail("Audit chain head")


class BackupRestored(AuditEventType):
    """A backup was restored into this (empty) installation, and checked."""

    action: ClassVar[str] = "system.restore"
    source: str = detail("Source")
    created_at: str = detail("Backup written at")
    problems: list[str] = detail("Problems")
