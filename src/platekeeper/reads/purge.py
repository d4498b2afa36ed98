"""Removing expired reads and recognition jobs (462.9); the image rows they leave unreferenced go through
``reads.integrity.delete_unreferenced_rows``.

The reads layer is the only code that touches these tables; the retention purge (``retention.service.purge``)
chooses what expires and calls these in its own transaction. Image *files* are not deleted here: the purge deletes
a file only after the transaction that removed its row has committed (see ``retention.models.PurgeFileBatch``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select
from sqlalchemy.orm import Session

from platekeeper.db import in_batches, in_list
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage

__all__ = [
    "ReadKey",
    "count_images_only_in",
    "delete_jobs",
    "delete_reads",
    "expired_jobs",
    "select_read_ids",
    "stored_digests",
]


ReadKey = tuple[datetime, uuid.UUID]  # (captured_at, id): where a walk through the reads in time order stands


def select_read_ids(
    session: Session, where: ColumnElement[bool], *, after: ReadKey | None, limit: int
) -> tuple[list[uuid.UUID], ReadKey | None]:
    """Up to ``limit`` read ids matching ``where``, oldest first after ``after`` (keyset paging over a large set),
    and the key to continue after.

    Time order, not id order: ids are random, so a batch in id order touches a page of the table and of every
    index per read, where a batch in time order touches a few pages of the table and of the time indexes. On
    SQLite every page a transaction changes is written to its log again (4 KiB each)."""
    stmt = select(PlateRead.id, PlateRead.captured_at).where(where)
    if after is not None:
        at, last = after
        stmt = stmt.where(
            PlateRead.captured_at >= at,
            or_(PlateRead.captured_at > at, PlateRead.id > last),
        )
    rows = session.execute(stmt.order_by(PlateRead.captured_at, PlateRead.id).limit(limit)).all()
    if not rows:
        return [], after
    return [row.id for row in rows], (rows[-1].captured_at, rows[-1].id)


def delete_reads(session: Session, read_ids: Sequence[uuid.UUID]) -> set[str]:
    """Delete these reads (their candidates live in the row) and return the image digests they named."""
    digests: set[str] = set()
    stmt = (
        delete(PlateRead)
        .where(PlateRead.id.in_(in_list()))
        .returning(PlateRead.crop_sha256, PlateRead.overview_sha256)
        .execution_options(synchronize_session=False)
    )
    for batch in in_batches(session, list(read_ids)):
        rows = session.execute(stmt, {"values": batch}).all()
        digests.update(d for row in rows for d in row if d)
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
    images = select(RecognitionJob.image_sha256).where(RecognitionJob.id.in_(in_list()))
    remove = (
        delete(RecognitionJob)
        .where(RecognitionJob.id.in_(in_list()))
        .execution_options(synchronize_session=False)  # an expanding IN list cannot be evaluated in Python
    )
    for batch in in_batches(session, list(job_ids)):
        digests.update(session.scalars(images, {"values": batch}))
        session.execute(remove, {"values": batch})
    return digests


def count_images_only_in(session: Session, where: ColumnElement[bool]) -> int:
    """How many distinct images the reads matching ``where`` name (an upper bound on the files a purge removes;
    for a dry run, which changes nothing)."""
    crops = select(PlateRead.crop_sha256.label("d")).where(where, PlateRead.crop_sha256.is_not(None))
    overviews = select(PlateRead.overview_sha256.label("d")).where(where, PlateRead.overview_sha256.is_not(None))
    union = crops.union(overviews).subquery()
    return session.scalar(select(func.count()).select_from(union)) or 0


def stored_digests(handle: Session | Connection, digests: Sequence[str]) -> set[str]:
    """Which of ``digests`` have an ``images`` row (a file queued for deletion whose picture was uploaded again)."""
    found: set[str] = set()
    stmt = select(StoredImage.sha256).where(StoredImage.sha256.in_(in_list()))
    for batch in in_batches(handle, list(digests)):
        found.update(handle.scalars(stmt, {"values": batch}))
    return found
