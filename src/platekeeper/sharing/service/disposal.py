"""Disposal of requests kept past ``retain_until`` (``sharing.retention_days`` after the decision): run by the daily
purge, a batch at a time. A request goes with its release, its download links, its package file if still on the
server, and its document once no other request names the same bytes. The purge counts them
(``sharing_requests``) in its signed certificate and its audit event (counts only: nothing about the requests), and
the register keeps the total disposed (``disposed_requests``). A batch lists its requests' files
(``sharing_disposed_files``) in its transaction, and each batch first deletes what earlier ones listed (the purge
always ends with a batch that disposes of nothing), so a purge killed at any point leaves nothing on disk past the
next purge."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, func, select

from platekeeper.audit.work import Work
from platekeeper.reads.images import ImageStore
from platekeeper.sharing.models import SharingDisposedFile, SharingLink, SharingRelease, SharingRequest

__all__ = ["count_expired_requests", "dispose_expired_requests"]


def _expired(today: date) -> ColumnElement[bool]:
    return and_(SharingRequest.retain_until.is_not(None), SharingRequest.retain_until < today)


def count_expired_requests(work: Work, today: date) -> int:
    """How many requests are past ``retain_until`` before ``today``: what the next purge disposes of."""
    return work.session.scalar(select(func.count(SharingRequest.id)).where(_expired(today))) or 0


def dispose_expired_requests(work: Work, documents: ImageStore, today: date, limit: int) -> int:
    """Delete up to ``limit`` requests whose ``retain_until`` is before ``today``, with their releases and links,
    and list their files (documents no other request names, package files) for the next batch to delete; first
    delete what earlier batches listed. How many requests went."""
    session = work.session
    ids = list(
        session.scalars(select(SharingRequest.id).where(_expired(today)).order_by(SharingRequest.id).limit(limit))
    )
    _delete_listed(work, documents)  # what earlier batches (or a killed purge) listed, committed since
    if not ids:
        return 0
    releases = session.execute(
        select(SharingRelease.id, SharingRelease.location).where(SharingRelease.request_id.in_(ids))
    ).all()
    release_ids = [r.id for r in releases]
    digests = set(
        session.scalars(
            select(SharingRequest.document_sha256).where(
                SharingRequest.id.in_(ids), SharingRequest.document_sha256.is_not(None)
            )
        )
    )
    if release_ids:
        session.execute(delete(SharingLink).where(SharingLink.release_id.in_(release_ids)))
        session.execute(delete(SharingRelease).where(SharingRelease.id.in_(release_ids)))
    session.execute(delete(SharingRequest).where(SharingRequest.id.in_(ids)))
    kept = set(
        session.scalars(select(SharingRequest.document_sha256).where(SharingRequest.document_sha256.in_(digests)))
    )
    orphans = sorted(str(d) for d in digests - kept)
    packages = [str(r.location) for r in releases if r.location]
    session.add_all(
        [SharingDisposedFile(kind="document", name=d) for d in orphans]
        + [SharingDisposedFile(kind="package", name=p) for p in packages]
    )  # listed with the deletion, deleted by a later batch: a killed purge leaves the list, never a lost file
    return len(ids)


def _delete_listed(work: Work, documents: ImageStore) -> None:
    """Delete the listed files of disposed requests and their rows. A document that a request names again (the
    same bytes entered since) stays; a file already gone is no error."""
    session = work.session
    listed = list(session.scalars(select(SharingDisposedFile)))  # a few per request, and drained every batch
    for row in listed:
        if row.kind == "package":
            Path(row.name).unlink(missing_ok=True)
        elif (
            session.scalar(select(SharingRequest.id).where(SharingRequest.document_sha256 == row.name).limit(1)) is None
        ):
            documents.delete(row.name)
    if listed:
        session.execute(delete(SharingDisposedFile).where(SharingDisposedFile.id.in_([r.id for r in listed])))
