"""Plate reads and the images they point to (stored as content-addressed files)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["PlateRead", "StoredImage"]


class StoredImage(Base):
    """An image file under the image folder, named by the SHA-256 of its bytes."""

    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlateRead(Base):
    """One plate seen by one camera at one moment. The id is chosen by the client, which makes ingest idempotent."""

    __tablename__ = "plate_reads"
    __table_args__ = (
        Index("ix_plate_reads_plate_captured", "plate", "captured_at"),
        Index("ix_plate_reads_captured_at", "captured_at"),
        Index("ix_plate_reads_camera_captured", "camera_id", "captured_at"),
        Index("ix_plate_reads_corrected_plate", "corrected_plate"),
        Index("ix_plate_reads_crop_sha256", "crop_sha256"),  # which images a purged batch still shares
        Index("ix_plate_reads_overview_sha256", "overview_sha256"),
        # PostgreSQL only (migration 0014): trigram indexes for any wildcard, a pattern btree for a prefix
        Index(
            "ix_plate_reads_plate_trgm",
            "plate",
            postgresql_using="gin",
            postgresql_ops={"plate": "gin_trgm_ops"},
            info={"dialect": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_plate_reads_corrected_trgm",
            "corrected_plate",
            postgresql_using="gin",
            postgresql_ops={"corrected_plate": "gin_trgm_ops"},
            info={"dialect": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_plate_reads_plate_pattern",
            "plate",
            postgresql_ops={"plate": "text_pattern_ops"},
            info={"dialect": "postgresql"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    plate: Mapped[str] = mapped_column(String(16))
    plate_raw: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    region: Mapped[str | None] = mapped_column(String(16), nullable=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    heading: Mapped[float | None] = mapped_column(Float, nullable=True)
    candidates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    crop_sha256: Mapped[str | None] = mapped_column(ForeignKey("images.sha256"), nullable=True)
    overview_sha256: Mapped[str | None] = mapped_column(ForeignKey("images.sha256"), nullable=True)
    # A person's correction after a misread (Civil Code 1798.90.51(b)(2)(F)); ``plate`` keeps the reader's text.
    corrected_plate: Mapped[str | None] = mapped_column(String(16), nullable=True)
    correction: Mapped[str | None] = mapped_column(String(16), nullable=True)  # corrected | unreadable
    corrected_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
