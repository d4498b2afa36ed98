"""The image folder and the ``images`` table kept in agreement: find where they disagree, and repair it.

Four kinds of problem:

- **orphan files**: an image file with no ``images`` row (a crash between a file's write and its row's commit,
  or between a row's delete and its file's);
- **missing files**: an ``images`` row whose file is absent, and that a read or a pending or running recognition
  job still points to, or that nothing points to;
- **orphan rows**: an ``images`` row whose file is present, pointed to by no read and no recognition job;
- **stray temp files**: the temp file of an atomic write (``write_file_atomic``) that was cut off.

The check streams, so it works for millions of files and rows in bounded memory: the folder is walked in digest
order (one leaf folder listed at a time), and the table and each column that points to an image are read as
sorted streams (server-side cursors on PostgreSQL), merged with the walk. Nothing is held per image; only the
problems waiting for their repair batch.

The repair follows what a records custodian expects: nothing kept that cannot be shown, nothing removed that is
still pointed to and present. Orphan files and stray temp files are deleted; orphan rows are deleted, then their
files. For a missing file, the reads that show it lose that image (``crop_sha256`` or ``overview_sha256`` set to
NULL; the read itself stays), pending and running jobs that would read it are failed with :data:`MISSING_IMAGE`,
and the row is deleted unless a recognition job still names it: ``recognition_jobs.image_sha256`` cannot be NULL,
so a finished job's row keeps it as the record of what was uploaded (counted as kept, not as a problem). Every
decision is checked again when it is carried out (a file that reappeared is left; a row is deleted only where no
read or job points to it at that moment), and a file written or renewed within ``storage.image_grace_minutes``
(:attr:`ImageStore.grace`) is never deleted: it may belong to an upload whose transaction has not committed yet.

**Crash safety of deletion** (:func:`release_unreferenced_images`): a file is deleted only after the transaction
that deleted its row has committed. A crash in between leaves at worst an orphan file, which the next
``platekeeper images check --repair`` removes; never a row pointing to a missing file. The purge goes one step
further: it deletes the rows with :func:`delete_unreferenced_rows` and queues their files in the same transaction
(``retention.models.PurgeFileBatch``), so even a crash between the commit and the deletion leaves no orphan.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, event, exists, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

from platekeeper.audit.events import ImagesRepaired
from platekeeper.audit.work import Work
from platekeeper.db import BATCH_SIZE, DEFAULT_BATCH_SIZE, Database, in_batches, in_list, utcnow
from platekeeper.reads.images import DIGEST, ImageStore
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.storage.sealing import TEMP_PREFIX

__all__ = [
    "KINDS",
    "MISSING_IMAGE",
    "Finding",
    "IntegrityReport",
    "MissingRepair",
    "RepairCounts",
    "check_images",
    "delete_unreferenced_rows",
    "record_repair",
    "release_unreferenced_images",
    "repair_missing_files",
]

log = logging.getLogger(__name__)

KINDS = ("orphan_files", "missing_files", "orphan_rows", "stray_temp_files")
ACTIVE_JOB_STATES = ("pending", "running")
MISSING_IMAGE = (
    "the uploaded image's file is missing from the image store (found by `platekeeper images check --repair`); "
    "it cannot be read"
)
_TO_DELETE = "platekeeper_images_to_delete"  # session.info: (store, digests) whose rows this transaction deleted


@dataclass
class Finding:
    """How many problems of one kind, and the names of the first few (digests, or temp files' paths)."""

    count: int = 0
    first: list[str] = field(default_factory=list)


@dataclass
class RepairCounts:
    """What a repair did: files and rows deleted, references cleared, jobs failed, and what it could not do."""

    orphan_files: int = 0
    stray_temp_files: int = 0
    orphan_rows: int = 0
    missing_files: int = 0  # rows of missing files dealt with (deleted, or kept for a job once nothing shows them)
    missing_file_rows: int = 0  # of which deleted
    references_cleared: int = 0
    jobs_failed: int = 0
    failures: int = 0
    failed: list[str] = field(default_factory=list)  # the first few "name: why"


@dataclass
class IntegrityReport:
    """What a check found (and, with ``repair``, what it did), with the figures of the walk."""

    names_shown: int
    found: dict[str, Finding] = field(default_factory=lambda: {kind: Finding() for kind in KINDS})
    files_walked: int = 0
    rows_checked: int = 0
    kept_for_jobs: int = 0  # missing files only finished jobs name: their rows stay as the jobs' record
    young_files: int = 0  # unreferenced files and temp files within the grace period: left for a later run
    unexpected_files: int = 0  # anything else in the image folder: never touched
    repair: RepairCounts | None = None

    def note(self, kind: str, name: str) -> None:
        finding = self.found[kind]
        finding.count += 1
        if len(finding.first) < self.names_shown:
            finding.first.append(name)

    @property
    def problems(self) -> int:
        return sum(finding.count for finding in self.found.values())

    @property
    def resolved(self) -> bool:
        """Nothing found, or everything found repaired without a failure."""
        return self.problems == 0 or (self.repair is not None and self.repair.failures == 0)

    def as_json(self) -> dict[str, Any]:
        return {
            "clean": self.problems == 0,
            "problems": self.problems,
            "found": {kind: {"count": f.count, "first": f.first} for kind, f in self.found.items()},
            "files_walked": self.files_walked,
            "rows_checked": self.rows_checked,
            "kept_for_jobs": self.kept_for_jobs,
            "young_files": self.young_files,
            "unexpected_files": self.unexpected_files,
            "repair": None if self.repair is None else vars(self.repair),
        }


def _unreferenced(column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """No read and no recognition job points to the image ``column`` names."""
    return (
        ~exists().where(PlateRead.crop_sha256 == column)
        & ~exists().where(PlateRead.overview_sha256 == column)
        & ~exists().where(RecognitionJob.image_sha256 == column)
    )


def _referenced(session: Session, digests: Sequence[str]) -> set[str]:
    """Which of ``digests`` a read (crop or overview) or a recognition job still names: one IN query per column,
    each answered from that column's index (SQLite plans a correlated NOT EXISTS on a column whose statistics say
    it is mostly NULL, such as overviews, as a scan of every read)."""
    found: set[str] = set()
    for column in (PlateRead.crop_sha256, PlateRead.overview_sha256, RecognitionJob.image_sha256):
        found.update(session.scalars(select(column).where(column.in_(in_list())).distinct(), {"values": digests}))
    return found


def delete_unreferenced_rows(session: Session, digests: Iterable[str]) -> list[str]:
    """Delete the ``images`` rows among ``digests`` that no read and no recognition job points to (an image shared
    by a younger or held read stays), in ``session``'s transaction; return their digests. Their files are the
    caller's: :func:`release_unreferenced_images` deletes them after the commit, the purge queues them.

    On PostgreSQL the DELETE repeats the test (``_unreferenced``) so that an ingest committing in between cannot
    lose its image; on SQLite the transaction holds the database's only write lock, so the test above is final."""
    released: list[str] = []
    for batch in in_batches(session, sorted(set(digests))):
        referenced = _referenced(session, batch)
        free = [digest for digest in batch if digest not in referenced]
        if not free:
            continue
        statement = delete(StoredImage).where(StoredImage.sha256.in_(in_list()))
        if session.get_bind().dialect.name != "sqlite":
            statement = statement.where(_unreferenced(StoredImage.sha256))
        released += session.scalars(
            statement.returning(StoredImage.sha256).execution_options(synchronize_session=False), {"values": free}
        ).all()
    return released


def release_unreferenced_images(session: Session, store: ImageStore, digests: Iterable[str]) -> int:
    """Delete the ``images`` rows among ``digests`` that no read and no recognition job points to any more, in
    ``session``'s transaction, and their files once that transaction commits; return how many rows it deleted.

    Crash-safety contract: a file is deleted only after its row is gone for good (the session's ``after_commit``);
    when the transaction rolls back, no file is touched. A crash between the commit and the file's deletion leaves
    at worst an orphan file, which ``platekeeper images check --repair`` removes. A file written or renewed within
    the grace period (an upload in progress may be counting on it) is left, for the same repair to remove later.
    Digests still pointed to are left as they are, row and file."""
    released = delete_unreferenced_rows(session, digests)
    if released:
        _delete_after_commit(session, store, released)
    return len(released)


def _delete_after_commit(session: Session, store: ImageStore, digests: list[str]) -> None:
    pending = session.info.get(_TO_DELETE)
    if pending is None:
        pending = session.info[_TO_DELETE] = []
        event.listen(session, "after_commit", _delete_committed)
        event.listen(session, "after_rollback", _forget_rolled_back)
    pending.append((store, digests))


def _delete_committed(session: Session) -> None:
    pending = session.info.get(_TO_DELETE, [])
    session.info[_TO_DELETE] = []
    for store, digests in pending:
        for digest in digests:
            try:
                if store.settled(store.path(digest)):
                    store.delete(digest)
            except OSError as exc:  # the row is gone: the file is an orphan, for `images check --repair`
                log.warning("image %s: its row is deleted but its file could not be: %s", digest, exc)


def _forget_rolled_back(session: Session) -> None:
    session.info[_TO_DELETE] = []


@dataclass
class MissingRepair:
    missing: int = 0  # digests whose file was still absent
    references_cleared: int = 0
    jobs_failed: int = 0
    rows_deleted: int = 0


def _present(store: ImageStore, digest: str) -> bool:
    try:
        return store.path(digest).exists()
    except ValueError:  # a row whose key is not a digest has no file
        return False


def _changed(session: Session, statement: Any) -> int:
    """Run an UPDATE or DELETE (the session's objects are not synchronized); the rows it changed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def repair_missing_files(session: Session, store: ImageStore, digests: Iterable[str]) -> MissingRepair:
    """For each digest whose file is (still) absent: clear the reads' references to it, fail the pending and
    running jobs that would read it, and delete its row unless a recognition job still names it."""
    result = MissingRepair()
    gone = sorted(d for d in set(digests) if not _present(store, d))
    result.missing = len(gone)
    for batch in in_batches(session, gone):
        for column in (PlateRead.crop_sha256, PlateRead.overview_sha256):
            result.references_cleared += _changed(
                session, update(PlateRead).where(column.in_(batch)).values({column: None})
            )
        result.jobs_failed += _changed(
            session,
            update(RecognitionJob)
            .where(RecognitionJob.image_sha256.in_(batch), RecognitionJob.state.in_(ACTIVE_JOB_STATES))
            .values(state="failed", error=MISSING_IMAGE, finished_at=utcnow(), lease_token=None, lease_until=None),
        )
        result.rows_deleted += _changed(
            session, delete(StoredImage).where(StoredImage.sha256.in_(batch), _unreferenced(StoredImage.sha256))
        )
    return result


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda entry: entry.name)


def _walk(root: Path, on_other: Callable[[Path, bool], None]) -> Iterator[str]:
    """Every image file's digest under ``root/ab/cd/``, in ascending order; anything else is handed to
    ``on_other`` with whether it is a temp file of an atomic write (never followed through a link)."""
    if not root.is_dir():
        return
    for first in _entries(root):
        if not (first.is_dir(follow_symlinks=False) and len(first.name) == 2):
            on_other(Path(first.path), False)
            continue
        for second in _entries(Path(first.path)):
            if not (second.is_dir(follow_symlinks=False) and len(second.name) == 2):
                on_other(Path(second.path), False)
                continue
            prefix = first.name + second.name
            for entry in _entries(Path(second.path)):
                name, is_file = entry.name, entry.is_file(follow_symlinks=False)
                if is_file and DIGEST.match(name) and name.startswith(prefix):
                    yield name
                else:
                    on_other(Path(entry.path), is_file and name.startswith(TEMP_PREFIX))


def _sorted_values(
    conn: Connection, column: InstrumentedAttribute[Any], *where: Any, unique: bool = True
) -> Iterator[str]:
    """The column's non-NULL values in byte order (the walk's order), streamed."""
    key = column.collate("C") if conn.dialect.name == "postgresql" else column
    query = select(key).where(column.is_not(None), *where).order_by(key)
    query = query.distinct() if unique else query
    batch = conn.info.get(BATCH_SIZE, DEFAULT_BATCH_SIZE)
    yield from conn.execute(query.execution_options(yield_per=batch)).scalars()


def _tagged(tag: str, values: Iterable[str]) -> Iterator[tuple[str, str]]:
    for value in values:
        yield value, tag


def _merged(streams: dict[str, Iterable[str]]) -> Iterator[tuple[str, set[str]]]:
    """Each value found in any of the sorted streams, with the names of the streams it is in."""
    merged = heapq.merge(*(_tagged(tag, values) for tag, values in streams.items()))
    for value, group in groupby(merged, key=itemgetter(0)):
        yield value, {tag for _, tag in group}


def _classify(tags: set[str]) -> str | None:
    """The problem a digest's presence in the streams shows, ``kept`` for a finished job's record, or None."""
    if "row" not in tags:
        return "orphan_files" if "file" in tags else None  # a reference without a row: the foreign keys forbid it
    shown = bool(tags & {"crop", "overview", "active_job"})
    if "file" not in tags:
        return "missing_files" if shown or "job" not in tags else "kept"
    return None if shown or "job" in tags else "orphan_rows"


class _Repairer:
    """Repairs the problems a check finds, a batch of each kind at a time, each batch in its own transaction."""

    def __init__(self, database: Database, store: ImageStore, report: IntegrityReport, batch_size: int) -> None:
        self.database, self.store, self.report, self.batch_size = database, store, report, batch_size
        self.counts = report.repair = RepairCounts()
        self.pending: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.fixers: dict[str, Callable[[list[str]], None]] = {
            "orphan_files": self._orphan_files,
            "missing_files": self._missing_files,
            "orphan_rows": self._orphan_rows,
            "stray_temp_files": self._stray_temps,
        }

    def add(self, kind: str, name: str) -> None:
        self.pending[kind].append(name)
        if len(self.pending[kind]) >= self.batch_size:
            self.flush(kind)

    def flush(self, kind: str) -> None:
        batch, self.pending[kind] = self.pending[kind], []
        if not batch:
            return
        try:
            self.fixers[kind](batch)
        except (OSError, SQLAlchemyError) as exc:
            self._failed(len(batch), f"{kind} ({len(batch)}): {exc}")

    def flush_all(self) -> None:
        for kind in KINDS:
            self.flush(kind)

    def _failed(self, count: int, why: str) -> None:
        self.counts.failures += count
        if len(self.counts.failed) < self.report.names_shown:
            self.counts.failed.append(why)

    def _orphan_files(self, digests: list[str]) -> None:
        with self.database.session() as session:
            rows = set(session.scalars(select(StoredImage.sha256).where(StoredImage.sha256.in_(digests))))
        for digest in digests:
            if digest in rows or not self.store.settled(self.store.path(digest)):
                continue  # its row came meanwhile, or an upload renewed it
            try:
                self.counts.orphan_files += self.store.delete(digest)
            except OSError as exc:
                self._failed(1, f"{digest}: {exc}")

    def _stray_temps(self, names: list[str]) -> None:
        for name in names:
            path = self.store.root / name
            try:
                if self.store.settled(path):
                    path.unlink()
                    self.counts.stray_temp_files += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._failed(1, f"{name}: {exc}")

    def _orphan_rows(self, digests: list[str]) -> None:
        with self.database.session() as session:
            self.counts.orphan_rows += release_unreferenced_images(session, self.store, digests)

    def _missing_files(self, digests: list[str]) -> None:
        with self.database.session() as session:
            done = repair_missing_files(session, self.store, digests)
        self.counts.missing_files += done.missing
        self.counts.missing_file_rows += done.rows_deleted
        self.counts.references_cleared += done.references_cleared
        self.counts.jobs_failed += done.jobs_failed


def _streams(conn: Connection, files: Iterator[str]) -> dict[str, Iterable[str]]:
    return {
        "file": files,
        "row": _sorted_values(conn, StoredImage.sha256, unique=False),
        "crop": _sorted_values(conn, PlateRead.crop_sha256),
        "overview": _sorted_values(conn, PlateRead.overview_sha256),
        "job": _sorted_values(conn, RecognitionJob.image_sha256),
        "active_job": _sorted_values(conn, RecognitionJob.image_sha256, RecognitionJob.state.in_(ACTIVE_JOB_STATES)),
    }


def check_images(
    database: Database,
    store: ImageStore,
    *,
    repair: bool = False,
    names_shown: int = 10,
    progress: Callable[[IntegrityReport], None] | None = None,
) -> IntegrityReport:
    """Walk the image folder and the ``images`` table together and report every problem (see the module's
    docstring); with ``repair``, repair them in batches of the database's query batch size as they are found.
    ``progress`` is called with the report every batch of digests walked."""
    report = IntegrityReport(names_shown)
    batch = database.batch_size
    repairer = _Repairer(database, store, report, batch) if repair else None

    def found(kind: str, name: str) -> None:
        report.note(kind, name)
        if repairer is not None:
            repairer.add(kind, name)

    def other(path: Path, temp: bool) -> None:
        if not temp:
            report.unexpected_files += 1
        elif store.settled(path):
            found("stray_temp_files", str(path.relative_to(store.root)))
        else:
            report.young_files += 1

    with database.read_connection() as conn:
        for seen, (digest, tags) in enumerate(_merged(_streams(conn, _walk(store.root, other))), start=1):
            report.files_walked += "file" in tags
            report.rows_checked += "row" in tags
            _judge(report, store, digest, _classify(tags), found)
            if progress is not None and seen % batch == 0:
                progress(report)
    if repairer is not None:
        repairer.flush_all()
    if progress is not None:
        progress(report)
    return report


def _judge(
    report: IntegrityReport, store: ImageStore, digest: str, kind: str | None, found: Callable[[str, str], None]
) -> None:
    """Note a problem the streams show once a direct look confirms it (the walk and the streams are not one
    snapshot: an upload may have written the file, or the row, in between)."""
    if kind == "kept":
        report.kept_for_jobs += 1
    elif kind == "orphan_files":
        if store.settled(store.path(digest)):
            found(kind, digest)
        else:
            report.young_files += 1
    elif kind == "missing_files":
        if not _present(store, digest):
            found(kind, digest)
    elif kind is not None:
        found(kind, digest)


def record_repair(work: Work, report: IntegrityReport) -> None:
    """Audit a repair (``storage.images_repaired``): counts only, no digest and no plate text."""
    counts = report.repair
    assert counts is not None
    event = ImagesRepaired(
        orphan_files=counts.orphan_files,
        stray_temp_files=counts.stray_temp_files,
        orphan_rows=counts.orphan_rows,
        missing_file_rows=counts.missing_file_rows,
        references_cleared=counts.references_cleared,
        jobs_failed=counts.jobs_failed,
        failures=counts.failures,
    )
    work.record(event, outcome="failure" if counts.failures else "success")
