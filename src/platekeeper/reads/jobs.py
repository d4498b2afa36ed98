"""The durable recognition queue: images uploaded without plate text wait here until a worker reads them.

A job's id is the id the camera chose, so uploading the same image again queues nothing twice. A worker claims a
job with a lease; if it dies, the lease expires and another worker takes the job. The reads a job produces get ids
derived from the job id (uuid5), and are stored in the same transaction that marks the job done, so a job that
is run twice still stores each plate once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["JOB_STATES", "RecognitionJob"]

JOB_STATES = ("pending", "running", "done", "failed")


class RecognitionJob(Base):
    __tablename__ = "recognition_jobs"
    __table_args__ = (
        Index("ix_recognition_jobs_state_created", "state", "created_at"),
        Index("ix_recognition_jobs_image_sha256", "image_sha256"),  # which images the purge may release
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    image_sha256: Mapped[str] = mapped_column(ForeignKey("images.sha256"))
    image_kind: Mapped[str] = mapped_column(String(16))  # overview: detect then read; crop: read only
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    heading: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    plates_found: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
