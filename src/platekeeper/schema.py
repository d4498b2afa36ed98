"""Every table's model, gathered so that migrations and tests see the whole schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from platekeeper.access.models import AccountReview, ApiToken, RecoveryCode, TrainingRecord, User, UserSession
from platekeeper.alerts.models import Alert
from platekeeper.audit.models import AuditEvent, AuditPlateText
from platekeeper.audits.models import AuditFinding, AuditSampleItem, SystemAudit
from platekeeper.cameras.models import Camera
from platekeeper.db import Base
from platekeeper.guards.models import SearchActivity
from platekeeper.hotlists.models import Hotlist, HotlistEntry
from platekeeper.notices.models import Notice
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.retention.models import (
    EvidenceExport,
    LegalHold,
    LegalHoldRead,
    PurgeFileBatch,
    PurgeRun,
    PurgeRunBatch,
)
from platekeeper.sharing.models import SharingAgency, SharingLink, SharingRelease, SharingRequest
from platekeeper.transparency.models import PolicyVersion

__all__ = [
    "AccountReview",
    "Alert",
    "ApiToken",
    "AuditEvent",
    "AuditFinding",
    "AuditPlateText",
    "AuditSampleItem",
    "Base",
    "Camera",
    "EvidenceExport",
    "Hotlist",
    "HotlistEntry",
    "LegalHold",
    "LegalHoldRead",
    "Notice",
    "PlateRead",
    "PolicyVersion",
    "PurgeFileBatch",
    "PurgeRun",
    "PurgeRunBatch",
    "RecognitionJob",
    "RecoveryCode",
    "SearchActivity",
    "SharingAgency",
    "SharingLink",
    "SharingRelease",
    "SharingRequest",
    "StoredImage",
    "SystemAudit",
    "TrainingRecord",
    "User",
    "UserSession",
    "for_dialect",
]


def for_dialect(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for a backend: an index made for another backend only (marked
    ``info={"dialect": ...}`` beside its ``ddl_if``: PostgreSQL's trigram indexes) is not part of this one's schema,
    so a comparison does not ask for it."""

    def include(obj: Any, _name: str | None, kind: str, _reflected: bool, _compare_to: Any) -> bool:
        wanted = obj.info.get("dialect") if kind == "index" else None
        return wanted is None or wanted == dialect

    return include
