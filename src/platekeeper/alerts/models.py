"""Alerts: one read matching one hotlist entry, with a snapshot of the entry and its verification steps.

The entry is copied into the alert (``entry``) because a full-replace import deletes and reloads entries; the alert
must still show what matched. A historical alert (``historical``) is a past read found when its entry was imported,
not a live sighting.

When its read is purged after retention (462.9), the alert is kept for the audit figures but loses every plate
detail (plate, matched text, entry snapshot, CLETS reference, notes) and its read (``purged_at`` set, ``read_id``
null): see ``alerts.service.release_alerts_for_purge``. The foreign key refuses to delete a read whose alerts
were not released first, so a purge cannot leave plate data behind in an alert.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["Alert"]


class Alert(Base):
    """A hotlist hit and where its verification stands (new -> acknowledged -> visual -> CLETS -> closed)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_created_at", "created_at"),
        Index("ix_alerts_status_created", "status", "created_at"),
        Index("ix_alerts_read_id", "read_id"),
        Index("ix_alerts_camera_id", "camera_id"),
        CheckConstraint("read_id IS NOT NULL OR purged_at IS NOT NULL", name="read_or_purged"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    read_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("plate_reads.id", ondelete="RESTRICT"), nullable=True
    )  # null once the read is purged
    camera_id: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    plate: Mapped[str] = mapped_column(String(16))
    matched_text: Mapped[str] = mapped_column(String(16))
    matched_via: Mapped[str] = mapped_column(String(16))  # best | candidate
    match_confidence: Mapped[float] = mapped_column(Float)
    match_kind: Mapped[str] = mapped_column(String(16))  # exact | confusable | edit1
    state_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    list_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer)
    hotlist_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hotlist_name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="new")
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    visual_result: Mapped[str | None] = mapped_column(String(40), nullable=True)  # match or a reject reason
    visual_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    visual_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clets_result: Mapped[str | None] = mapped_column(String(40), nullable=True)
    clets_reference: Mapped[str | None] = mapped_column(String(40), nullable=True)
    clets_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    clets_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(40), nullable=True)
    disposition_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disposition_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
