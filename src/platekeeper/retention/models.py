"""Legal holds, purge runs (with their certificates) and evidence exports.

A hold keeps reads past the retention period for one case: specific reads, a plate within a time window, or a
camera within a time window. A purge run removes every artifact of the expired reads no hold covers, in batches;
what it has removed so far is written in the same transaction as the removal (``purge_run_batches``), so a run
killed at any point resumes where it stopped and its certificate still covers every read it removed. Image files
are deleted only after the rows that named them are gone: their digests wait in ``purge_file_batches`` meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = [
    "HOLD_REASONS",
    "HOLD_SCOPES",
    "HOLD_STATES",
    "EvidenceExport",
    "LegalHold",
    "LegalHoldRead",
    "PurgeFileBatch",
    "PurgeRun",
    "PurgeRunBatch",
]

HOLD_REASONS = {
    "evidence": "Evidence in a case",
    "discovery": "A discovery request",
    "other_lawful_action": "Another lawful action",
}
HOLD_SCOPES = {
    "reads": "Specific reads",
    "plate": "A plate within a time window",
    "camera": "A camera within a time window",
}
HOLD_STATES = ("requested", "active", "refused", "released")


class LegalHold(Base):
    """Reads kept past retention for one case, requested by one person and approved by another."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_status", "status"), Index("ix_legal_holds_case", "case_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # a key of HOLD_REASONS
    description: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16))  # a key of HOLD_SCOPES
    plate: Mapped[str | None] = mapped_column(String(16), nullable=True)
    camera_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class LegalHoldRead(Base):
    """One read named by a hold of scope ``reads`` (no foreign key: a released hold outlives its purged reads)."""

    __tablename__ = "legal_hold_reads"
    __table_args__ = (Index("ix_legal_hold_reads_read", "read_id"),)

    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id", ondelete="CASCADE"), primary_key=True)
    read_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


class PurgeRun(Base):
    """One purge: its cutoff, what it removed and kept so far, and, once finished, its signed certificate."""

    __tablename__ = "purge_runs"
    __table_args__ = (Index("ix_purge_runs_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)  # reads captured before it expire
    plate_text_cutoff: Mapped[datetime] = mapped_column(UTCDateTime)  # audit plate text recorded before it goes
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | command
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class PurgeRunBatch(Base):
    """The reads one batch of a run removed, kept until the run's certificate has hashed the sorted list of them:
    their ids packed 16 bytes each, one row per batch (a row per read was an index entry at a random place for
    each removed read, written and deleted again)."""

    __tablename__ = "purge_run_batches"

    run_id: Mapped[int] = mapped_column(ForeignKey("purge_runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    read_ids: Mapped[bytes] = mapped_column(LargeBinary)

    @staticmethod
    def pack(read_ids: Sequence[uuid.UUID]) -> bytes:
        return b"".join(read_id.bytes for read_id in read_ids)

    def unpack(self) -> list[uuid.UUID]:
        packed = bytes(self.read_ids)
        return [uuid.UUID(bytes=packed[i : i + 16]) for i in range(0, len(packed), 16)]


class PurgeFileBatch(Base):
    """The image files of one purge batch whose rows are gone, waiting to be deleted from disk (a crash leaves them
    here, not orphaned): their digests, one per line. One row per batch: a row per file was an index entry at a
    random place for each file, written and deleted again."""

    __tablename__ = "purge_file_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    digests: Mapped[str] = mapped_column(Text)

    def listed(self) -> list[str]:
        return self.digests.split("\n") if self.digests else []


class EvidenceExport(Base):
    """An evidence package written for a hold: where, by whom, under which property booking number."""

    __tablename__ = "evidence_exports"
    __table_args__ = (Index("ix_evidence_exports_hold", "hold_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id"))
    booking_number: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(Text)
    reads: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    exported_by: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
