"""The registry of audit events: every action the log may hold, as a declared type with labelled fields.

Call sites build the typed event (``UserApproved(username=..., role=..., requested_by=...)``) and hand it to
:func:`platekeeper.audit.service.record_event`; an action missing here cannot be written. ``docs/audit-events.md``
is :func:`events_markdown`'s output (a test keeps them equal): ``python -m platekeeper.audit.events``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from platekeeper.audit.events import access, alerts, guards, reads, retention, system
from platekeeper.audit.events.access import (
    AccessPolicyChanged,
    AccountLocked,
    AccountUnlocked,
    MfaEnrolled,
    MfaReset,
    PasswordChanged,
    PasswordReset,
    RecoveryCodesIssued,
    RecoveryCodeUsed,
    SignIn,
    SignInFailed,
    SignInRateLimited,
    SignOut,
    TokenCreated,
    TokenRevoked,
    TrainingRecordAdded,
    TrainingRecordVoided,
    TrainingRefused,
    UserApprovalRefused,
    UserApproved,
    UserBootstrapped,
    UserCreated,
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
    UsersReviewSignedOff,
    UsersReviewViewed,
    UserSuspended,
    UserUpdated,
)
from platekeeper.audit.events.alerts import (
    AlertAcknowledged,
    AlertClets,
    AlertCreated,
    AlertDisposition,
    AlertFiguresViewed,
    AlertLeadClosed,
    AlertsDashboardOpened,
    AlertsPurged,
    AlertTransitionRefused,
    AlertViewed,
    AlertVisualCheck,
    HotlistCreated,
    HotlistEntriesViewed,
    HotlistEntryAdded,
    HotlistHistoricalSearch,
    HotlistImported,
    HotlistImportRefused,
)
from platekeeper.audit.events.base import AuditEventType, InvalidAuditEvent, is_optional, stored_name
from platekeeper.audit.events.guards import ChainVerificationRun, GuardStop, NoticeAcknowledged, NoticeRaised
from platekeeper.audit.events.reads import (
    ACCESS_REFUSED,
    AccessRefused,
    AlertAccessRefused,
    CameraCreated,
    CameraDeactivated,
    CameraKeyRotated,
    HotlistAccessRefused,
    PlateStoryViewed,
    ReadAccessRefused,
    ReadCorrected,
    ReadImageViewed,
    ReadsSearched,
    ReadViewed,
)
from platekeeper.audit.events.retention import (
    EvidenceExported,
    HoldDecided,
    HoldRefusedStep,
    HoldReleased,
    HoldRequested,
    HoldsViewed,
    PurgeCertificateDownloaded,
    PurgeDryRun,
    PurgeFinished,
    PurgeStarted,
)
from platekeeper.audit.events.system import (
    AuditChainVerified,
    AuditCheckpointFailed,
    AuditExported,
    AuditViewed,
    BackupRestored,
    BackupWritten,
    DemoSeeded,
    ImagesRepaired,
    KeyRotationFinished,
    KeyRotationStarted,
)

__all__ = [
    "ACCESS_REFUSED",
    "EVENT_TYPES",
    "REGISTRY",
    "AccessPolicyChanged",
    "AccessRefused",
    "AccountLocked",
    "AccountUnlocked",
    "AlertAccessRefused",
    "AlertAcknowledged",
    "AlertClets",
    "AlertCreated",
    "AlertDisposition",
    "AlertFiguresViewed",
    "AlertLeadClosed",
    "AlertTransitionRefused",
    "AlertViewed",
    "AlertVisualCheck",
    "AlertsDashboardOpened",
    "AlertsPurged",
    "AuditChainVerified",
    "AuditCheckpointFailed",
    "AuditEventType",
    "AuditExported",
    "AuditViewed",
    "BackupRestored",
    "BackupWritten",
    "CameraCreated",
    "CameraDeactivated",
    "CameraKeyRotated",
    "ChainVerificationRun",
    "DemoSeeded",
    "EvidenceExported",
    "GuardStop",
    "HoldDecided",
    "HoldRefusedStep",
    "HoldReleased",
    "HoldRequested",
    "HoldsViewed",
    "HotlistAccessRefused",
    "HotlistCreated",
    "HotlistEntriesViewed",
    "HotlistEntryAdded",
    "HotlistHistoricalSearch",
    "HotlistImportRefused",
    "HotlistImported",
    "ImagesRepaired",
    "InvalidAuditEvent",
    "KeyRotationFinished",
    "KeyRotationStarted",
    "MfaEnrolled",
    "MfaReset",
    "NoticeAcknowledged",
    "NoticeRaised",
    "PasswordChanged",
    "PasswordReset",
    "PlateStoryViewed",
    "PurgeCertificateDownloaded",
    "PurgeDryRun",
    "PurgeFinished",
    "PurgeStarted",
    "ReadAccessRefused",
    "ReadCorrected",
    "ReadImageViewed",
    "ReadViewed",
    "ReadsSearched",
    "RecoveryCodeUsed",
    "RecoveryCodesIssued",
    "SignIn",
    "SignInFailed",
    "SignInRateLimited",
    "SignOut",
    "TokenCreated",
    "TokenRevoked",
    "TrainingRecordAdded",
    "TrainingRecordVoided",
    "TrainingRefused",
    "UserApprovalRefused",
    "UserApproved",
    "UserBootstrapped",
    "UserCreated",
    "UserDeactivated",
    "UserReactivated",
    "UserRoleChanged",
    "UserSuspended",
    "UserUpdated",
    "UsersReviewSignedOff",
    "UsersReviewViewed",
    "display_value",
    "events_markdown",
    "field_label",
    "labelled_details",
]

EVENT_TYPES: tuple[type[AuditEventType], ...] = tuple(
    member
    for module in (access, reads, system, alerts, retention, guards)  # the order the audit page lists the actions in
    for member in vars(module).values()
    if isinstance(member, type) and issubclass(member, AuditEventType) and "action" in vars(member)
)
"""Every declared event, in the order the audit page lists the actions."""

REGISTRY: dict[str, type[AuditEventType]] = {cls.action: cls for cls in EVENT_TYPES}
"""Action name -> its declared type."""


def field_label(name: str) -> str:
    """A readable label for a stored key that declares none (a nested key, an undeclared one): ``case_number`` ->
    ``Case number``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def display_value(value: Any) -> str:
    """A detail's value for a person: yes/no, lists joined by commas (by semicolons when they hold objects),
    objects as ``Label: value`` pairs."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        joiner = "; " if any(isinstance(item, dict) for item in value) else ", "
        return joiner.join(display_value(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(str(key))}: {display_value(item)}" for key, item in value.items())
    return "" if value is None else str(value)


def _shown(value: Any) -> bool:
    return value is not None and value != []


def _pairs(label: str, value: Any) -> Iterator[tuple[str, str]]:
    """One labelled pair, or one per field of a nested object (``Query / Plate``), however deep."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if _shown(item):
                yield from _pairs(f"{label} / {field_label(str(key))}", item)
    else:
        yield label, display_value(value)


def labelled_details(action: str, details: dict[str, Any]) -> list[tuple[str, str]]:
    """Stored details as (label, value) pairs for the audit page, empty values left out: the declared fields by
    their labels, in declaration order, then any other key under a label made from its name (so nothing stored is
    hidden). A nested object (a refused request's query) gives a pair for each of its fields."""
    cls = REGISTRY.get(action)
    labels = cls.labels() if cls else {}
    pairs = [(label, details[key]) for key, label in labels.items() if key in details]
    pairs += [(field_label(key), value) for key, value in sorted(details.items()) if key not in labels]
    return [pair for label, value in pairs if _shown(value) for pair in _pairs(label, value)]


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " or ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if typing.get_origin(annotation) is not None:
        return str(annotation).replace("typing.", "")
    return str(getattr(annotation, "__name__", annotation))


def events_markdown() -> str:
    """docs/audit-events.md: every action with its description and its detail fields (key, type, label)."""
    lines = [
        "# Audit events",
        "",
        "Every action the audit log holds, with the detail fields its events carry. Generated from the registry",
        "(`platekeeper.audit.events`) by `python -m platekeeper.audit.events > docs/audit-events.md`; a test keeps",
        "this file equal to the registry. A field marked *optional* is left out of an event that does not carry it.",
        "Besides these details every event records when, who (user, organization, role, client), the outcome,",
        "and, for plate data, the purpose, case number and justification.",
    ]
    for cls in EVENT_TYPES:
        lines += ["", f"## `{cls.action}`", "", cls.description(), ""]
        if not cls.model_fields:
            lines.append("No detail fields.")
            continue
        lines += ["| Field | Type | Label |", "| --- | --- | --- |"]
        for name, info in cls.model_fields.items():
            kind = _type_name(info.annotation) + (", optional" if is_optional(info) else "")
            lines.append(f"| `{stored_name(name, info)}` | {kind} | {info.title or name} |")
    return "\n".join(lines) + "\n"
