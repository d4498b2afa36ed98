"""Removing expired reads and recognition jobs (462.9); the image rows they leave unreferenced go through
``reads.integrity.delete_unreferenced_rows``.

The reads layer is the only code that touches these tables; the retention purge (``retention.service.purge``)
chooses what expires and calls these in its own transaction. Image *files* are not deleted here: the purge deletes
a file only after the transaction that removed its row has committed (see ``retention.models.PurgeFile``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from platekeeper.db import in_batches
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead

__all__ = [
    "count_images_only_in",
    "delete_jobs",
    "delete_reads",
    "expired_jobs",
    "select_read_ids",
]


def select_read_ids(
    session: Session, where: ColumnElement[bool], *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` read ids matching ``where``, in id order after ``after`` (keyset paging over a large set)."""
    stmt = select(PlateRead.id).where(where)
    if after is not None:
        stmt = stmt.where(PlateRead.id > after)
    return list(session.scalars(stmt.order_by(PlateRead.id).limit(limit)))


def delete_reads(session: Session, read_ids: Sequence[uuid.UUID]) -> set[str]:
    """Delete these reads (their candidates live in the row) and return the image digests they named."""
    digests: set[str] = set()
    for batch in in_batches(session, list(read_ids)):
        rows = session.execute(
            select(PlateRead.crop_sha256, PlateRead.overview_sha256).where(PlateRead.id.in_(batch))
        ).all()
        digests.update(d for row in rows for d in row if d)
        session.execute(delete(PlateRead).where(PlateRead.id.in_(batch)))
    return digests


def expired_jobs(session: Session, cutoff: datetime, limit: int) -> list[uuid.UUID]:
    """Finished or failed recognition jobs for images captured before ``cutoff`` (their reads live on as reads)."""
    stmt = (
        select(RecognitionJob.id)
        .where(RecognitionJob.captured_at < cutoff, RecognitionJob.state.in_(("done", "failed")))
        .order_by(RecognitionJob.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def delete_jobs(session: Session, job_ids: Sequence[uuid.UUID]) -> set[str]:
    """Delete these recognition jobs and return the digests of their uploaded images."""
    digests: set[str] = set()
    for batch in in_batches(session, list(job_ids)):
        digests.update(session.scalars(select(RecognitionJob.image_sha256).where(RecognitionJob.id.in_(batch))))
        session.execute(delete(RecognitionJob).where(RecognitionJob.id.in_(batch)))
    return digests


def count_images_only_in(session: Session, where: ColumnElement[bool]) -> int:
    """How many distinct images the reads matching ``where`` name (an upper bound on the files a purge removes;
    for a dry run, which changes nothing)."""
    crops = select(PlateRead.crop_sha256.label("d")).where(where, PlateRead.crop_sha256.is_not(None))
    overviews = select(PlateRead.overview_sha256.label("d")).where(where, PlateRead.overview_sha256.is_not(None))
    union = crops.union(overviews).subquery()
    return session.scalar(select(func.count()).select_from(union)) or 0
