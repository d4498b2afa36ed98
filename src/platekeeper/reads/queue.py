"""Claiming, completing and failing recognition jobs (see :mod:`platekeeper.reads.jobs` for the guarantees).

Each step is its own short transaction; the slow recognition runs between them, outside any transaction.
"""

from __future__ import annotations

import io
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.reads.images import ImageStore, ValidImage, validate_image
from platekeeper.reads.ingest import insert_new_rows, store_images
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead
from platekeeper.reads.schemas import normalize_plate
from platekeeper.recognition.base import RecognizedPlate

__all__ = [
    "ClaimedJob",
    "claim_job",
    "complete_job",
    "fail_job",
    "queue_counts",
    "requeue_failed",
    "result_read_id",
]

CROP_JPEG_QUALITY = 90


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds until ``lease_until``; only the holder of ``lease_token`` may finish it."""

    id: uuid.UUID
    lease_token: str
    image_sha256: str
    image_kind: str
    attempts: int


def claim_job(session: Session, settings: Settings, now: datetime | None = None) -> ClaimedJob | None:
    """Take the oldest pending job, or a running one whose lease ran out (its worker died)."""
    now = now or utcnow()
    query = (
        select(RecognitionJob)
        .where(
            or_(
                RecognitionJob.state == "pending",
                (RecognitionJob.state == "running") & (RecognitionJob.lease_until < now),
            )
        )
        .order_by(RecognitionJob.created_at, RecognitionJob.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.scalars(query).first()
    if job is None:
        return None
    job.state, job.attempts = "running", job.attempts + 1
    job.lease_token = secrets.token_hex(16)
    job.lease_until = now + timedelta(seconds=settings.recognition_queue.lease_seconds)
    return ClaimedJob(job.id, job.lease_token, job.image_sha256, job.image_kind, job.attempts)


def result_read_id(job_id: uuid.UUID, index: int) -> uuid.UUID:
    """The id of the index-th plate a job finds: the camera's own id for the first, derived ids after it."""
    return job_id if index == 0 else uuid.uuid5(job_id, f"plate-{index}")


def _crop_jpeg(plate: RecognizedPlate) -> bytes | None:
    if plate.crop is None or plate.crop.size == 0:
        return None
    pixels = plate.crop[:, :, ::-1] if plate.crop.ndim == 3 else plate.crop  # BGR -> RGB
    buffer = io.BytesIO()
    Image.fromarray(pixels.copy()).save(buffer, format="JPEG", quality=CROP_JPEG_QUALITY)
    return buffer.getvalue()


def _candidates(plate: RecognizedPlate) -> list[dict[str, Any]] | None:
    """The alternates as stored: text normalized to A-Z0-9 like a camera's (the historical-hit search relies on it)."""
    found = [{"text": normalize_plate(c.text), "confidence": float(c.confidence)} for c in plate.candidates]
    return [c for c in found if c["text"]] or None


def _read_rows(
    job: RecognitionJob, plates: list[RecognizedPlate], settings: Settings
) -> tuple[list[dict[str, Any]], list[ValidImage]]:
    rows: list[dict[str, Any]] = []
    crops: list[ValidImage] = []
    for index, plate in enumerate(plates):
        data = _crop_jpeg(plate)
        crop = validate_image(data, settings.ingest) if data else None
        if crop:
            crops.append(crop)
        rows.append(
            {
                "id": result_read_id(job.id, index),
                "camera_id": job.camera_id,
                "plate": plate.text,
                "plate_raw": (plate.raw or plate.text)[:64],
                "confidence": float(plate.confidence),
                "region": plate.region,
                "captured_at": job.captured_at,
                "received_at": utcnow(),
                "latitude": job.latitude,
                "longitude": job.longitude,
                "heading": job.heading,
                "candidates": _candidates(plate),
                "crop_sha256": crop.sha256 if crop else None,
                "overview_sha256": job.image_sha256 if job.image_kind == "overview" else None,
            }
        )
    return rows, crops


def complete_job(
    session: Session,
    settings: Settings,
    store: ImageStore,
    claimed: ClaimedJob,
    plates: list[RecognizedPlate],
) -> list[uuid.UUID] | None:
    """Store the plates found and mark the job done, in one transaction; return the ids of reads stored.

    None means the lease was lost (another worker took the job over): nothing is written. Reads already stored by
    an earlier run of the same job are not stored again, since their ids are derived from the job id.
    """
    job = session.get(RecognitionJob, claimed.id)
    if job is None or job.state != "running" or job.lease_token != claimed.lease_token:
        return None
    plates = [p for p in plates if p.text and p.confidence >= settings.recognition_queue.min_confidence]
    plates = plates[: settings.recognition_queue.max_plates_per_image]
    rows, crops = _read_rows(job, plates, settings)
    store_images(session, store, crops)
    inserted = insert_new_rows(session, PlateRead, rows)
    job.state, job.finished_at, job.plates_found, job.error = "done", utcnow(), len(rows), None
    job.lease_token, job.lease_until = None, None
    return [row["id"] for row in rows if row["id"] in inserted]


def fail_job(session: Session, settings: Settings, claimed: ClaimedJob, error: str) -> str:
    """Record a failed attempt: back to pending for a retry, or failed after the last attempt. Returns the state."""
    job = session.get(RecognitionJob, claimed.id)
    if job is None or job.lease_token != claimed.lease_token:
        return "lost"
    job.state = "failed" if job.attempts >= settings.recognition_queue.max_attempts else "pending"
    job.error, job.lease_token, job.lease_until = error[:2000], None, None
    if job.state == "failed":
        job.finished_at = utcnow()
    return job.state


def queue_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each state (for system health)."""
    rows = session.execute(select(RecognitionJob.state, func.count()).group_by(RecognitionJob.state))
    counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
    counts.update({state: count for state, count in rows})
    return counts


def requeue_failed(session: Session) -> int:
    """Put every failed job back in the queue (after fixing what made it fail); returns how many."""
    failed = list(session.scalars(select(RecognitionJob.id).where(RecognitionJob.state == "failed")))
    session.execute(
        update(RecognitionJob)
        .where(RecognitionJob.id.in_(failed))
        .values(state="pending", attempts=0, error=None, finished_at=None)
    )
    return len(failed)
