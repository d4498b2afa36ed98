"""The purge (462.9): every artifact of the reads past retention that no hold covers, in batches, resumable.

One run has a fixed cutoff. Each batch is one transaction that releases the reads' alerts (their plate details go;
historical leads are alerts too), deletes the reads (their candidates live in the row), deletes the image rows no
younger or held read and no job still names, queues those files, records the removed read ids and adds to the run's
counts. Files are deleted from disk only after that commit, and their queue rows after that: a run killed at any
point leaves at worst queued files, which the next run deletes first. Expired recognition jobs and their uploaded
images go the same way. Then the audit log's plate text older than ``audit.plate_detail_days`` is forgotten (its
sealed digest stays), and the guards' ``search_activity`` rows older than the longest guard window are deleted (no
rule counts them any more; the audit log keeps every search). The records higher layers keep until a date of their
own go once it has passed (sharing requests, closed system audits: see :class:`Disposal`). Finally the certificate
is signed: the cutoff, the counts, what holds kept, and a SHA-256 over the sorted removed read ids; it is stored with
the run and recorded in the audit log.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from platekeeper.alerts.service import release_alerts_for_purge
from platekeeper.audit.events import PurgeDryRun, PurgeFinished, PurgeStarted
from platekeeper.audit.plates import count_plate_texts_due, forget_plate_texts
from platekeeper.audit.service import Actor
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database, in_batches, json_value, utcnow
from platekeeper.guards.service import activity_horizon, count_search_activity_due, purge_search_activity
from platekeeper.reads.images import ImageStore
from platekeeper.reads.integrity import delete_unreferenced_rows
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead
from platekeeper.reads.purge import (
    ReadKey,
    count_images_only_in,
    delete_jobs,
    delete_reads,
    expired_jobs,
    select_read_ids,
)
from platekeeper.retention.floor import expired_unheld, retention_cutoff
from platekeeper.retention.models import PurgeFileBatch, PurgeRun, PurgeRunBatch
from platekeeper.retention.service.holds import held_before, held_past_retention, protecting_holds
from platekeeper.retention.service.signed import sign_document
from platekeeper.retention.service.sweeper import Sweeper, Swept, lower_priority

__all__ = [
    "CERTIFICATE_TYPE",
    "COUNT_KINDS",
    "DISPOSAL_KINDS",
    "Disposal",
    "Progress",
    "PurgeBusy",
    "PurgePreview",
    "Purger",
]

log = logging.getLogger(__name__)

CERTIFICATE_TYPE = "platekeeper.purge-certificate/1"
COUNT_KINDS = {
    "reads": "Reads (rows with their candidates)",
    "images": "Image files (crops, overviews, uploads)",
    "jobs": "Recognition jobs",
    "alerts": "Alerts released (plate details removed, historical leads included)",
    "plate_texts": "Audit log plate texts forgotten (digests kept)",
    "search_activity": "Guard activity rows past the longest guard window (the audit log keeps the searches)",
    "sharing_requests": "Sharing requests past their retain-until date (with their releases, links and documents)",
    "system_audits": "Closed system audits past their keep-until date (with their findings and sample)",
}
DISPOSAL_KINDS = ("sharing_requests", "system_audits")
"""The kinds removed through a :class:`Disposal` the composition root passes in."""
Progress = Callable[[str, int], None]  # (what, how many so far)


@dataclass(frozen=True)
class Disposal:
    """Records a higher layer keeps until a date of their own (sharing requests, closed system audits), which the
    purge disposes of once that date has passed. The composition root passes them in, by their kind in
    ``COUNT_KINDS``: retention sits below those layers."""

    count: Callable[[Work, date], int]
    """How many are due before the given day (the agency's today); for the dry run."""
    remove: Callable[[Work, date, int], int]
    """Remove up to a batch of those due and return how many. Files they leave on disk are the disposal's own to
    list in the same transaction and delete in a later batch (the run always ends with a batch that removes none),
    so a purge killed between a commit and the files leaves nothing behind past the next run."""


class PurgeBusy(RuntimeError):
    """Another purge is running on this installation."""


@dataclass(frozen=True)
class PurgePreview:
    """What a purge would remove now (a dry run changes nothing)."""

    cutoff: datetime
    reads: int
    images: int
    jobs: int
    plate_texts: int
    held_reads: int
    search_activity: int
    sharing_requests: int
    system_audits: int


class Purger:
    """Runs the purge for one installation: its settings, database, audit key, signing key and image store."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        audit_key: bytes,
        signer: InstallationKey,
        store: ImageStore,
        disposals: Mapping[str, Disposal] | None = None,
    ) -> None:
        self.settings, self.database, self.audit_key = settings, database, audit_key
        self.signer, self.store, self.disposals = signer, store, dict(disposals or {})
        if unknown := set(self.disposals) - set(DISPOSAL_KINDS):
            raise ValueError(f"not a kind of disposal: {', '.join(sorted(unknown))}")
        self.actor = Actor.system("purge")
        self.report: Progress = lambda what, n: None
        self._queued: tuple[int, list[str]] | None = None  # the queue row the batch in progress wrote
        self._after: ReadKey | None = None  # where this run stands in the expired reads

    @property
    def _batch(self) -> int:
        return self.settings.retention.batch_for(self.database.dialect)

    def _work(self, session: Session) -> Work:
        return Work(session, self.settings, self.audit_key, self.actor)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One purge at a time on this installation (the scheduled one and a command started by hand)."""
        path = self.settings.data_dir / "purge.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PurgeBusy("another purge is running on this installation; try again when it ends") from None
            yield
        finally:
            os.close(fd)

    def preview(self, actor: Actor | None = None, now: datetime | None = None) -> PurgePreview:
        """Count what a purge would remove now, without removing anything. Audited."""
        now = now or utcnow()
        cutoff = retention_cutoff(now, self.settings.retention.days)
        today = self.settings.today(now)
        with self.database.session() as session:
            due = expired_unheld(cutoff)
            disposed = {kind: self._disposal_count(session, kind, today) for kind in DISPOSAL_KINDS}
            preview = PurgePreview(
                cutoff=cutoff,
                reads=session.scalar(select(func.count(PlateRead.id)).where(due)) or 0,
                images=count_images_only_in(session, due),
                jobs=session.scalar(
                    select(func.count(RecognitionJob.id)).where(
                        RecognitionJob.captured_at < cutoff, RecognitionJob.state.in_(("done", "failed"))
                    )
                )
                or 0,
                plate_texts=count_plate_texts_due(session, now - timedelta(days=self.settings.audit.plate_detail_days)),
                held_reads=held_past_retention(session, self.settings, now),
                search_activity=count_search_activity_due(session, now - activity_horizon(self.settings)),
                **disposed,
            )
            work = self._work(session) if actor is None else Work(session, self.settings, self.audit_key, actor)
            work.record(PurgeDryRun(**vars(preview)))
        return preview

    def run(self, trigger: str = "command", progress: Progress | None = None, now: datetime | None = None) -> PurgeRun:
        """Purge (or finish an interrupted purge) and return the finished run with its signed certificate."""
        self.report = progress or (lambda what, n: None)
        lower_priority(self.settings.retention.nice)  # background work: searches and ingest come first
        with self._exclusive():
            run_id, self._after = self._open(trigger, now or utcnow()), None
            self._drain_files()
            with Sweeper(self.database, self.store, self.settings.retention.nice) as sweeper:
                self._in_batches(run_id, "reads", self._reads_batch, sweeper)
                self._in_batches(run_id, "jobs", self._jobs_batch, sweeper)
                sweeper.wait()
                with self.database.session() as session:
                    self._unqueue(session, sweeper.settled())
            self._drain_files()  # a file too young to delete before (an upload may be counting on it)
            self._in_batches(run_id, "plate_texts", self._plate_texts_batch)
            self._in_batches(run_id, "search_activity", self._activity_batch)
            for kind in self.disposals:
                self._in_batches(run_id, kind, self._disposal_batch(kind))
            return self._finish(run_id)

    def _open(self, trigger: str, now: datetime) -> int:
        with self.database.session() as session:
            run = session.scalars(select(PurgeRun).where(PurgeRun.status == "running").order_by(PurgeRun.id)).first()
            resumed = run is not None
            if run is None:
                run = PurgeRun(
                    cutoff=retention_cutoff(now, self.settings.retention.days),
                    plate_text_cutoff=now - timedelta(days=self.settings.audit.plate_detail_days),
                    started_at=now,
                    status="running",
                    trigger=trigger,
                    counts={kind: 0 for kind in COUNT_KINDS},
                )
                session.add(run)
                session.flush()
            self._work(session).record(
                PurgeStarted(run_id=run.id, cutoff=run.cutoff, resumed=resumed, trigger=run.trigger)
            )
            return run.id

    def _add(self, session: Session, run_id: int, **counts: int) -> dict[str, int]:
        run = session.get_one(PurgeRun, run_id)
        run.counts = {kind: int(run.counts.get(kind, 0)) + counts.get(kind, 0) for kind in COUNT_KINDS}
        return run.counts

    def _queue(self, session: Session, run_id: int, digests: list[str]) -> None:
        if digests:  # one row for the batch's files
            row = PurgeFileBatch(run_id=run_id, digests="\n".join(digests))
            session.add(row)
            session.flush()
            self._queued = (row.id, digests)

    def _drain_files(self) -> int:
        """Delete the queued files whose rows are gone, then their queue rows; return how many were settled.

        A digest that has an ``images`` row again (the same picture uploaded since) keeps its file. A file written
        or renewed within ``storage.image_grace_minutes`` may belong to an upload that has not committed yet: it
        stays queued for the next run. Files are deleted outside any transaction (no database lock is held while
        the disk works), several at once: one unlink at a time was most of a large purge's time."""
        settled, after = 0, 0
        with Sweeper(self.database, self.store, self.settings.retention.nice) as sweeper:
            while True:
                with self.database.read_connection() as conn:
                    queued = conn.execute(
                        select(PurgeFileBatch.id, PurgeFileBatch.digests)
                        .where(PurgeFileBatch.id > after)
                        .order_by(PurgeFileBatch.id)
                        .limit(1)
                    ).first()
                if queued is None:
                    return settled
                digests = queued.digests.split("\n") if queued.digests else []
                sweeper.submit(queued.id, digests)
                sweeper.wait()
                done = sweeper.settled()
                with self.database.session() as session:
                    self._unqueue(session, done)
                settled += len(digests) - sum(len(swept.stays) for swept in done)
                after = queued.id

    def _pause(self) -> None:
        if pause := self.settings.retention.pause_for(self.database.dialect):
            time.sleep(pause / 1000)

    def _in_batches(
        self,
        run_id: int,
        kind: str,
        step: Callable[[Session, PurgeRun], dict[str, int]],
        sweeper: Sweeper | None = None,
    ) -> None:
        """Run ``step`` (one batch: what it removed, by kind) in its own transaction until it removes no ``kind``;
        after each, hand the files it queued to the ``sweeper`` (whose settled files the next batch unqueues),
        report the progress and pause."""
        while True:
            self._queued = None
            with self.database.session() as session:
                if sweeper is not None:
                    self._unqueue(session, sweeper.settled())
                removed = step(session, session.get_one(PurgeRun, run_id))
                counts = self._add(session, run_id, **removed)
            if sweeper is not None and self._queued is not None:
                sweeper.submit(*self._queued)
            if not removed.get(kind):
                return
            self.report(kind, counts[kind])
            self._pause()

    def _unqueue(self, session: Session, swept: list[Swept]) -> None:
        """Drop the queue rows of swept batches; a batch with files that stay keeps a row listing only those."""
        done = [batch for batch, stays in swept if not stays]
        for ids in in_batches(session, done):
            session.execute(delete(PurgeFileBatch).where(PurgeFileBatch.id.in_(ids)))
        for batch, stays in swept:
            if stays:
                session.execute(
                    update(PurgeFileBatch).where(PurgeFileBatch.id == batch).values(digests="\n".join(stays))
                )

    def _reads_batch(self, session: Session, run: PurgeRun) -> dict[str, int]:
        due = expired_unheld(run.cutoff)
        ids, self._after = select_read_ids(session, due, after=self._after, limit=self._batch)
        if not ids:
            return {}
        alerts = release_alerts_for_purge(self._work(session), ids)
        files = delete_unreferenced_rows(session, delete_reads(session, ids))
        self._queue(session, run.id, files)
        seq = session.scalar(
            select(func.coalesce(func.max(PurgeRunBatch.seq) + 1, 0)).where(PurgeRunBatch.run_id == run.id)
        )
        session.add(PurgeRunBatch(run_id=run.id, seq=seq, read_ids=PurgeRunBatch.pack(ids)))
        return {"reads": len(ids), "images": len(files), "alerts": alerts}

    def _jobs_batch(self, session: Session, run: PurgeRun) -> dict[str, int]:
        ids = expired_jobs(session, run.cutoff, self._batch)
        if not ids:
            return {}
        files = delete_unreferenced_rows(session, delete_jobs(session, ids))
        self._queue(session, run.id, files)
        return {"jobs": len(ids), "images": len(files)}

    def _plate_texts_batch(self, session: Session, run: PurgeRun) -> dict[str, int]:
        return {"plate_texts": forget_plate_texts(session, run.plate_text_cutoff, self._batch)}

    def _activity_batch(self, session: Session, run: PurgeRun) -> dict[str, int]:
        before = run.started_at - activity_horizon(self.settings)
        return {"search_activity": purge_search_activity(session, before, self._batch)}

    def _disposal_count(self, session: Session, kind: str, today: date) -> int:
        disposal = self.disposals.get(kind)
        return 0 if disposal is None else disposal.count(self._work(session), today)

    def _disposal_batch(self, kind: str) -> Callable[[Session, PurgeRun], dict[str, int]]:
        def batch(session: Session, run: PurgeRun) -> dict[str, int]:
            today = self.settings.today(run.started_at)
            return {kind: self.disposals[kind].remove(self._work(session), today, self._batch)}

        return batch

    def _ids_digest(self, session: Session, run_id: int) -> tuple[str, int]:
        """SHA-256 over the removed read ids, sorted, lowercase with hyphens, one per line ('\\n' after each)."""
        digest, read_ids = hashlib.sha256(), list[str]()
        for batch in session.scalars(select(PurgeRunBatch).where(PurgeRunBatch.run_id == run_id)):
            read_ids.extend(str(read_id) for read_id in batch.unpack())
            session.expunge(batch)
        read_ids.sort()
        for read_id in read_ids:
            digest.update(f"{read_id}\n".encode())
        return digest.hexdigest(), len(read_ids)

    def _finish(self, run_id: int) -> PurgeRun:
        with self.database.session() as session:
            run = session.get_one(PurgeRun, run_id)
            ids_sha256, removed = self._ids_digest(session, run_id)
            now = utcnow()
            held_reads, holds = held_before(session, run.cutoff), protecting_holds(session)  # at the run's cutoff
            document = certificate_document(self.settings, run, now, ids_sha256, removed, held_reads, holds)
            run.certificate = sign_document(self.signer, document)
            run.status, run.finished_at = "finished", now
            session.execute(delete(PurgeRunBatch).where(PurgeRunBatch.run_id == run_id))
            counts = run.counts
            event = PurgeFinished(
                run_id=run.id,
                cutoff=run.cutoff,
                held_reads=held_reads,
                purged_ids_sha256=ids_sha256,
                signed_by=self.signer.fingerprint,
                **{kind: int(counts.get(kind, 0)) for kind in COUNT_KINDS},
            )
            self._work(session).record(event)
            session.flush()
            session.expunge(run)
            return run


def certificate_document(
    settings: Settings, run: PurgeRun, now: datetime, ids_sha256: str, removed: int, held_reads: int, holds: int
) -> dict[str, Any]:
    """The certificate's signed content."""
    return {
        "type": CERTIFICATE_TYPE,
        "agency": settings.agency.name,
        "run_id": run.id,
        "trigger": run.trigger,
        "retention_days": settings.retention.days,
        "cutoff": json_value(run.cutoff),
        "plate_text_cutoff": json_value(run.plate_text_cutoff),
        "started_at": json_value(run.started_at),
        "finished_at": json_value(now),
        "removed": {kind: int(run.counts.get(kind, 0)) for kind in COUNT_KINDS},
        "kept_under_hold": {"reads": held_reads, "holds": holds},
        "purged_read_ids": {
            "count": removed,
            "sha256": ids_sha256,
            "method": "SHA-256 over the removed read ids, sorted, in lowercase hyphenated form, each followed by a "
            "newline",
        },
    }
