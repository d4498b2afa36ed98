"""The registry of audit events: every action the log may hold, as a declared type with labelled fields.

Call sites build the typed event (``UserApproved(username=..., role=..., requested_by=...)``) and hand it to
:func:`platekeeper.audit.service.record_event`; an action missing here cannot be written. ``docs/audit-events.md``
is :func:`events_markdown`'s output (a test keeps them equal): ``python -m platekeeper.audit.events``.
"""

# ruff: noqa: F401  (the event imports below are re-exports: __all__ names them through their modules' lists)

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from platekeeper.audit.events import (
    access,
    alerts,
    audits,
    guards,
    reads,
    retention,
    sharing,
    system,
    transparency,
)
from platekeeper.audit.events.access import (
    AccessPolicyChanged,
    AccountLocked,
    AccountUnlocked,
    MfaEnrolled,
    MfaReset,
    PasswordChanged,
    PasswordReset,
    PermissionRefused,
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
from platekeeper.audit.events.audits import (
    SystemAuditApproved,
    SystemAuditClosed,
    SystemAuditFindingsRecorded,
    SystemAuditReferred,
    SystemAuditReportViewed,
    SystemAuditRun,
    SystemAuditSampleReviewed,
    SystemAuditScheduled,
    SystemAuditStepRefused,
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
from platekeeper.audit.events.sharing import (
    PraDetermined,
    PraExtended,
    PraRedactionsRecorded,
    PraRequestEntered,
    SharingAgencyChanged,
    SharingDownloaded,
    SharingFulfilled,
    SharingRegisterViewed,
    SharingRequestEntered,
    SharingRequestOpened,
    SharingReviewed,
    SharingStepRefused,
)
from platekeeper.audit.events.system import (
    AuditChainVerified,
    AuditCheckpointFailed,
    AuditExported,
    AuditPlateRevealed,
    AuditRevealRefused,
    AuditViewed,
    BackupRestored,
    BackupWritten,
    DemoSeeded,
    ImagesRepaired,
    KeyRotationFinished,
    KeyRotationStarted,
)
from platekeeper.audit.events.transparency import PolicyVersionRecorded

# The events are re-exported under the lists their own modules declare (one list each, nothing to keep in step).
__all__ = [
    "EVENT_TYPES",
    "REGISTRY",
    "AuditEventType",
    "InvalidAuditEvent",
    "display_value",
    "events_markdown",
    "field_label",
    "labelled_details",
    *access.__all__,
    *alerts.__all__,
    *audits.__all__,
    *guards.__all__,
    *reads.__all__,
    *retention.__all__,
    *sharing.__all__,
    *system.__all__,
    *transparency.__all__,
]

EVENT_TYPES: tuple[type[AuditEventType], ...] = tuple(
    member
    for module in (
        access,
        reads,
        system,
        alerts,
        retention,
        sharing,
        guards,
        audits,
        transparency,
    )  # the order the audit page lists the actions in
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


def _plate_note(cls: type[AuditEventType], key: str) -> str:
    if key in cls.plate_fields:
        return ", plate: sealed as its digest"
    nested = [path.split(".", 1)[1] for path in cls.plate_fields if path.startswith(key + ".")]
    return f", its {', '.join(nested)}: sealed as a digest" if nested else ""


def events_markdown() -> str:
    """docs/audit-events.md: every action with its description and its detail fields (key, type, label)."""
    lines = [
        "# Audit events",
        "",
        "Every action the audit log holds, with the detail fields its events carry. Generated from the registry",
        "(`platekeeper.audit.events`) by `python -m platekeeper.audit.events > docs/audit-events.md`; a test keeps",
        "this file equal to the registry. A field marked *optional* is left out of an event that does not carry it.",
        "Besides these details every event records when, who (user, organization, role, client), the outcome,",
        "and, for plate data, the purpose, case number and justification. A plate field is sealed as a keyed",
        "digest; its text is kept beside the event until `audit.plate_detail_days` (docs/architecture.md,",
        '"Plate text in the audit log").',
    ]
    for cls in EVENT_TYPES:
        lines += ["", f"## `{cls.action}`", "", cls.description(), ""]
        if not cls.model_fields:
            lines.append("No detail fields.")
            continue
        lines += ["| Field | Type | Label |", "| --- | --- | --- |"]
        for name, info in cls.model_fields.items():
            key = stored_name(name, info)
            kind = _type_name(info.annotation) + (", optional" if is_optional(info) else "") + _plate_note(cls, key)
            lines.append(f"| `{key}` | {kind} | {info.title or name} |")
    return "\n".join(lines) + "\n"
