"""The only door to plate data: search, one read, its images. Each takes an AccessContext and is audited.

The query elements (plate or wildcard, time range, cameras) are written to the audit log with the username,
organization, purpose, case number and justification, in the same transaction as the answer.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from platekeeper.access.context import AccessContext, record_access, require_context
from platekeeper.audit.events import ReadCorrected, ReadImageViewed, ReadsSearched, ReadViewed
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.config import SearchConfig
from platekeeper.db import utcnow
from platekeeper.guards.service import Watched, check_before, record_after
from platekeeper.reads.images import ImageStore
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.retention.floor import visible_read
from platekeeper.storage.sealing import SealedFileError

__all__ = [
    "IMAGE_KINDS",
    "SORTS",
    "CorrectionRefused",
    "ReadDetail",
    "ReadImage",
    "ReadNotFound",
    "ReadQuery",
    "ReadStatistics",
    "ReadSummary",
    "SearchError",
    "SearchPage",
    "correct_read",
    "corrections_per_camera",
    "get_read",
    "get_read_image",
    "hourly_reads",
    "read_statistics",
    "reads_of_plate",
    "reads_since",
    "search_reads",
    "validate_query",
]

log = logging.getLogger(__name__)

SelectT = TypeVar("SelectT", bound=Select)
IMAGE_KINDS = ("crop", "overview")
PLATE_PATTERN = re.compile(r"^[A-Z0-9*?]{1,12}$")


class SearchError(ValueError):
    """The query itself is not acceptable; the message names the field and the rule."""


class ReadNotFound(LookupError):
    """No read with that id (or no such image for it)."""


SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (PlateRead.captured_at.desc(),),
    "oldest": (PlateRead.captured_at.asc(),),
    "camera": (Camera.name.asc(), PlateRead.captured_at.desc()),
    "confidence": (PlateRead.confidence.desc(), PlateRead.captured_at.desc()),
    "low_confidence": (PlateRead.confidence.asc(), PlateRead.captured_at.desc()),
}
"""How search results may be ordered: newest or oldest first, by camera name, most or least confident first."""


@dataclass(frozen=True)
class ReadQuery:
    """What to look for. ``plate`` may hold wildcards: ``*`` any run of characters, ``?`` one character."""

    plate: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    camera_ids: tuple[int, ...] = ()
    page: int = 1
    sort: str = "newest"  # one of SORTS

    def describe(self) -> dict[str, Any]:
        """The query elements as they go into the audit log (Civil Code 1798.90.52)."""
        return {
            "plate": self.plate,
            "wildcard": bool(self.plate and any(c in self.plate for c in "*?")),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "cameras": list(self.camera_ids),
            "page": self.page,
            "sort": self.sort,
        }


def validate_query(query: ReadQuery, limits: SearchConfig) -> ReadQuery:
    """Normalize the plate pattern and check the query's scope; raise SearchError naming the rule broken."""
    plate = re.sub(r"[\s-]", "", query.plate or "").upper() or None
    if plate is not None:
        if not PLATE_PATTERN.fullmatch(plate):
            raise SearchError("plate: use letters, digits and the wildcards * and ? (at most 12 characters)")
        known = sum(1 for c in plate if c not in "*?")
        if known != len(plate) and known < limits.min_wildcard_characters:
            raise SearchError(
                f"plate: a wildcard search needs at least {limits.min_wildcard_characters} known characters"
            )
    for name, value in (("since", query.since), ("until", query.until)):
        if value is not None and value.tzinfo is None:
            raise SearchError(f"{name}: give a timezone (e.g. 2026-11-28T08:00:00-08:00)")
    if query.since and query.until and query.since >= query.until:
        raise SearchError("until: must be after since")
    if plate is None and not (query.since and query.until):
        raise SearchError("plate: give a plate, or both since and until to list reads in a time range")
    if query.since and query.until and query.until - query.since > timedelta(days=limits.max_range_days):
        raise SearchError(f"until: a search may span at most {limits.max_range_days} days")
    if query.page < 1:
        raise SearchError("page: must be 1 or more")
    if query.sort not in SORTS:
        raise SearchError(f"sort: one of {', '.join(SORTS)}")
    return replace(query, plate=plate)


@dataclass(frozen=True)
class ReadSummary:
    id: uuid.UUID
    captured_at: datetime
    camera_id: int
    camera_name: str
    plate: str
    confidence: float
    crop_sha256: str | None
    crop: bytes | None = None
    crop_media_type: str | None = None
    region: str | None = None  # e.g. us-ca: the state the plate was read as, where the reader could tell
    corrected_plate: str | None = None  # a person's correction after a misread
    latitude: float | None = None
    longitude: float | None = None

    @property
    def state(self) -> str | None:
        """The two-letter state or country part of ``region`` (``us-ca`` -> ``CA``), or None."""
        return self.region.split("-")[-1].upper() if self.region and "-" in self.region else None


@dataclass(frozen=True)
class SearchPage:
    query: ReadQuery
    total: int  # exact when ``exact``; else the count limit, and there are more
    page_size: int
    results: list[ReadSummary] = field(default_factory=list)
    exact: bool = True
    has_next: bool = False  # a read lies past this page (known past the count's limit too)

    @property
    def pages(self) -> int:
        """How many pages the counted results fill (at least that many when the count is not ``exact``)."""
        return max(1, -(-self.total // self.page_size))


def _plate_pattern(column: Any, pattern: str, dialect: str) -> Any:
    """``column`` matches a plate pattern (``*`` any run, ``?`` one character; plates hold only A-Z and 0-9). On
    SQLite through GLOB, whose wildcards these are: it is case-sensitive, so the plate's own index serves a known
    prefix (LIKE, case-insensitive there, scans the table). On PostgreSQL through LIKE, which the pattern and trigram
    indexes serve (prefix; inner and suffix wildcards)."""
    if dialect == "sqlite":
        return column.op("GLOB")(pattern)
    return column.like(pattern.replace("*", "%").replace("?", "_"))


def _apply_filters(stmt: SelectT, query: ReadQuery, dialect: str) -> SelectT:
    if query.plate:  # the reader's text or a person's correction of it
        if any(c in query.plate for c in "*?"):
            matches = (_plate_pattern(c, query.plate, dialect) for c in (PlateRead.plate, PlateRead.corrected_plate))
            stmt = stmt.where(or_(*matches))
        else:
            stmt = stmt.where(or_(PlateRead.plate == query.plate, PlateRead.corrected_plate == query.plate))
    if query.since:
        stmt = stmt.where(PlateRead.captured_at >= query.since)
    if query.until:
        stmt = stmt.where(PlateRead.captured_at < query.until)
    if query.camera_ids:
        stmt = stmt.where(PlateRead.camera_id.in_(query.camera_ids))
    return stmt


def _media_types(session: Session, digests: set[str]) -> dict[str, str]:
    if not digests:
        return {}
    rows = session.execute(select(StoredImage.sha256, StoredImage.media_type).where(StoredImage.sha256.in_(digests)))
    return {row.sha256: row.media_type for row in rows}


def _load_crop(store: ImageStore, digest: str | None) -> bytes | None:
    if digest is None:
        return None
    try:
        return store.get(digest)
    except FileNotFoundError:
        return None
    except SealedFileError as exc:  # a damaged file costs its own image, never the search or the read around it
        log.warning("image %s could not be opened: %s", digest, exc)
        return None


def _summary(read: PlateRead, camera_name: str, store: ImageStore | None, types: dict[str, str]) -> ReadSummary:
    """One result row: the read with its camera's name and, with a store, its crop (for a thumbnail)."""
    return ReadSummary(
        id=read.id,
        captured_at=read.captured_at,
        camera_id=read.camera_id,
        camera_name=camera_name,
        plate=read.plate,
        confidence=read.confidence,
        crop_sha256=read.crop_sha256,
        crop=_load_crop(store, read.crop_sha256) if store else None,
        crop_media_type=types.get(read.crop_sha256 or ""),
        region=read.region,
        corrected_plate=read.corrected_plate,
        latitude=read.latitude,
        longitude=read.longitude,
    )


def _floor(work: Work, case_number: str | None) -> Any:
    """Reads within retention, or held for ``case_number`` (462.9): the only reads any door below shows."""
    return visible_read(work.session, utcnow(), work.settings.retention.days, case_number)


def _visible(work: Work, case_number: str, read_id: uuid.UUID) -> PlateRead | None:
    """The read with this id, unless it is past retention and not held for this case (then as if it were gone)."""
    return work.session.scalars(select(PlateRead).where(PlateRead.id == read_id, _floor(work, case_number))).first()


def search_reads(work: Work, ctx: AccessContext, query: ReadQuery, *, store: ImageStore | None = None) -> SearchPage:
    """Find reads by plate (exact or wildcard), time range and camera, newest first; one page (``search`` limits
    from the work's settings). Audited, and watched by the guards (:class:`GuardStopped` before it runs).

    With ``store`` given, each result carries its plate crop (for thumbnails), covered by the same audit event.
    """
    ctx = require_context(ctx, "reads.search")
    session, limits = work.session, work.settings.search
    query = validate_query(query, limits)
    watched = Watched("reads.search", plate_less=query.plate is None, page=query.page)
    check_before(work, ctx, watched)  # a guard's stop refuses the search here, before it runs (462.6)
    floor, dialect = _floor(work, ctx.case_number), session.get_bind().dialect.name
    matching = _apply_filters(select(PlateRead.id), query, dialect).where(floor).limit(limits.count_limit + 1)
    counted = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    total, exact = min(counted, limits.count_limit), counted <= limits.count_limit
    stmt = (
        _apply_filters(select(PlateRead, Camera.name).join(Camera, Camera.id == PlateRead.camera_id), query, dialect)
        .where(floor)
        .order_by(*SORTS[query.sort], PlateRead.id)
        .offset((query.page - 1) * limits.page_size)
        .limit(limits.page_size + 1)  # one more: whether a next page exists, past the count's limit too
    )
    rows = session.execute(stmt).all()
    has_next, rows = len(rows) > limits.page_size, rows[: limits.page_size]
    types = _media_types(session, {r.PlateRead.crop_sha256 for r in rows if r.PlateRead.crop_sha256}) if store else {}
    results = [_summary(r.PlateRead, r.name, store, types) for r in rows]
    more = None if exact else True  # only a count that stopped at the limit says so
    searched = ReadsSearched(**query.describe(), results=total, more_results=more, thumbnails=store is not None)
    record_access(work, ctx, searched)
    record_after(work, ctx, watched, shown=len(results), total=total)  # the guards' count, and their notices
    return SearchPage(query, total, limits.page_size, results, exact=exact, has_next=has_next)


@dataclass(frozen=True)
class ReadImage:
    kind: str
    sha256: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class ReadDetail:
    read: PlateRead
    camera: Camera
    images: dict[str, ReadImage]


def _read_images(session: Session, store: ImageStore, read: PlateRead, kinds: tuple[str, ...]) -> dict[str, ReadImage]:
    digests = {kind: getattr(read, f"{kind}_sha256") for kind in kinds}
    types = _media_types(session, {d for d in digests.values() if d})
    images = {}
    for kind, digest in digests.items():
        data = _load_crop(store, digest)
        if digest and data is not None:
            images[kind] = ReadImage(kind=kind, sha256=digest, media_type=types.get(digest, "image/jpeg"), data=data)
    return images


def get_read(work: Work, ctx: AccessContext, read_id: uuid.UUID, store: ImageStore) -> ReadDetail:
    """One read with its camera and images. Audited as ``reads.view``, found or not."""
    ctx = require_context(ctx, "reads.view")
    check_before(work, ctx, Watched("reads.view"))  # a purpose the guards refuse opens no read either
    session = work.session
    read = _visible(work, ctx.case_number, read_id)
    viewed = ReadViewed(read_id=str(read_id), plate=read.plate if read else None, found=read is not None)
    record_access(work, ctx, viewed)
    if read is None:
        raise ReadNotFound(f"no read with id {read_id} within the retention period, or held for this case")
    camera = session.get_one(Camera, read.camera_id)
    return ReadDetail(read=read, camera=camera, images=_read_images(session, store, read, IMAGE_KINDS))


class CorrectionRefused(ValueError):
    """A correction that cannot be recorded; the message names the field."""


def correct_read(
    work: Work, ctx: AccessContext, read_id: uuid.UUID, *, corrected_plate: str | None, alert_id: int | None = None
) -> PlateRead:
    """Record what a misread plate really says (``corrected_plate``), or that it is unreadable (``None``), beside
    the reader's own text, and audit it (``reads.correct``) under the work's context. Search and the historical-hit
    search then find the read by either text (Civil Code 1798.90.51(b)(2)(F): measures that correct errors)."""
    ctx = require_context(ctx, "reads.view")
    read = _visible(work, ctx.case_number, read_id)
    if read is None:
        raise ReadNotFound(f"no read with id {read_id} within the retention period, or held for this case")
    text = re.sub(r"[\s-]", "", corrected_plate or "").upper() or None
    if text is not None and not re.fullmatch(r"[A-Z0-9]{1,12}", text):
        raise CorrectionRefused("corrected_plate: letters and digits only, at most 12 (or say it is unreadable)")
    if text is not None and text == read.plate:
        raise CorrectionRefused(f"corrected_plate: {text} is what the reader read; a correction must differ")
    read.corrected_plate, read.correction = text, "corrected" if text else "unreadable"
    read.corrected_by, read.corrected_at = ctx.username, utcnow()
    event = ReadCorrected(
        read_id=str(read.id), plate=read.plate, corrected_plate=text, unreadable=text is None, alert_id=alert_id
    )
    record_access(work, ctx, event)
    return read


def corrections_per_camera(session: Session) -> dict[int, int]:
    """How many reads of each camera a person corrected after a misread (counts only, for the misread figures)."""
    rows = session.execute(
        select(PlateRead.camera_id, func.count(PlateRead.id))
        .where(PlateRead.correction.is_not(None))
        .group_by(PlateRead.camera_id)
    )
    return {int(camera): int(n) for camera, n in rows}


def get_read_image(work: Work, ctx: AccessContext, read_id: uuid.UUID, kind: str, store: ImageStore) -> ReadImage:
    """One image (crop or overview) of a read. Audited as ``reads.image``."""
    ctx = require_context(ctx, "reads.view")
    if kind not in IMAGE_KINDS:
        raise ReadNotFound(f"image kind must be one of {', '.join(IMAGE_KINDS)}")
    read = _visible(work, ctx.case_number, read_id)
    image_viewed = ReadImageViewed(read_id=str(read_id), kind=kind, plate=read.plate if read else None)
    record_access(work, ctx, image_viewed)
    image = _read_images(work.session, store, read, (kind,)).get(kind) if read else None
    if image is None:
        raise ReadNotFound(f"read {read_id} has no {kind} image")
    return image


@dataclass(frozen=True)
class ReadStatistics:
    """Aggregate counts only (no plate data): safe for any signed-in user's dashboard."""

    total: int
    last_24h: int
    with_images: int


def read_statistics(session: Session, now: datetime) -> ReadStatistics:
    """How many reads are stored, how many arrived in the last 24 hours, and how many carry a crop."""
    total = session.scalar(select(func.count(PlateRead.id))) or 0
    recent = (
        session.scalar(select(func.count(PlateRead.id)).where(PlateRead.captured_at >= now - timedelta(hours=24))) or 0
    )
    with_images = session.scalar(select(func.count(PlateRead.id)).where(PlateRead.crop_sha256.is_not(None))) or 0
    return ReadStatistics(total=total, last_24h=recent, with_images=with_images)


def reads_of_plate(
    work: Work, case_number: str, plate: str, store: ImageStore, limit: int
) -> tuple[list[ReadSummary], int]:
    """The newest ``limit`` reads of one plate (its text or a person's correction of it) within retention or held
    for ``case_number``, with their crops and positions, and how many there are in all. No audit of its own: the
    caller (a plate's story) records the access under its context in the same transaction."""
    session = work.session
    match = and_(or_(PlateRead.plate == plate, PlateRead.corrected_plate == plate), _floor(work, case_number))
    total = session.scalar(select(func.count(PlateRead.id)).where(match)) or 0
    rows = session.execute(
        select(PlateRead, Camera.name)
        .join(Camera, Camera.id == PlateRead.camera_id)
        .where(match)
        .order_by(PlateRead.captured_at.desc(), PlateRead.id)
        .limit(limit)
    ).all()
    types = _media_types(session, {r.PlateRead.crop_sha256 for r in rows if r.PlateRead.crop_sha256})
    reads = [_summary(r.PlateRead, r.name, store, types) for r in rows]
    return reads, total


def hourly_reads(session: Session, until: datetime, hours: int = 24) -> dict[int, list[int]]:
    """Reads per camera in each of the ``hours`` hours before ``until``, oldest hour first: counts only, for the
    cameras page's chart. The database groups them, so a busy day costs one small query."""
    since = until - timedelta(hours=hours)
    if session.get_bind().dialect.name == "postgresql":
        offset: Any = func.extract("epoch", PlateRead.captured_at - since) / 3600
    else:
        offset = (func.julianday(PlateRead.captured_at) - func.julianday(since.isoformat())) * 24
    bucket = cast(func.floor(offset), Integer)
    rows = session.execute(
        select(PlateRead.camera_id, bucket, func.count(PlateRead.id))
        .where(PlateRead.captured_at >= since, PlateRead.captured_at < until)
        .group_by(PlateRead.camera_id, bucket)
    )
    counts: dict[int, list[int]] = {}
    for camera_id, hour, n in rows:
        if hour is not None and 0 <= int(hour) < hours:
            counts.setdefault(int(camera_id), [0] * hours)[int(hour)] += int(n)
    return counts


def reads_since(session: Session, since: datetime) -> int:
    """How many reads were captured since ``since`` (an index range count: the public transparency page)."""
    return session.scalar(select(func.count(PlateRead.id)).where(PlateRead.captured_at >= since)) or 0
