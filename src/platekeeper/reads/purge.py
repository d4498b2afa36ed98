"""Removing expired reads, recognition jobs and the image rows nothing refers to any more (462.9).

The reads layer is the only code that touches these tables; the retention purge (``retention.service.purge``)
chooses what expires and calls these in its own transaction. Image *files* are not deleted here: the purge deletes
a file only after the transaction that removed its row has committed (see ``retention.models.PurgeFile``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from platekeeper.db import in_batches
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage

__all__ = [
    "count_images_only_in",
    "delete_jobs",
    "delete_reads",
    "expired_jobs",
    "release_unreferenced_images",
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


def _referenced(session: Session, digests: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in in_batches(session, list(digests)):
        # One query per column, each on its own index: SQLite plans "crop IN (..) OR overview IN (..)" as a scan of
        # every read, once per batch of every purge batch (100,000 reads purged at ~130/s, bench/retention.py).
        for column in (PlateRead.crop_sha256, PlateRead.overview_sha256):
            found.update(session.scalars(select(column).where(column.in_(batch))))
        found.update(session.scalars(select(RecognitionJob.image_sha256).where(RecognitionJob.image_sha256.in_(batch))))
    return found


def release_unreferenced_images(session: Session, digests: Iterable[str]) -> list[str]:
    """Delete the ``images`` rows among ``digests`` that no read and no job names any more (an image shared by a
    younger or held read stays) and return their digests: the caller deletes those files once this commits."""
    candidates = sorted(set(digests))
    referenced = _referenced(session, candidates)
    unreferenced = [d for d in candidates if d not in referenced]
    for batch in in_batches(session, unreferenced):
        session.execute(delete(StoredImage).where(StoredImage.sha256.in_(batch)))
    return unreferenced


def count_images_only_in(session: Session, where: ColumnElement[bool]) -> int:
    """How many distinct images the reads matching ``where`` name (an upper bound on the files a purge removes;
    for a dry run, which changes nothing)."""
    crops = select(PlateRead.crop_sha256.label("d")).where(where, PlateRead.crop_sha256.is_not(None))
    overviews = select(PlateRead.overview_sha256.label("d")).where(where, PlateRead.overview_sha256.is_not(None))
    union = crops.union(overviews).subquery()
    return session.scalar(select(func.count()).select_from(union)) or 0
