"""Idempotent ingest of read batches from cameras.

A batch is checked read by read: good reads are stored, bad ones are rejected with their index and reason, and a
read whose id is already stored is reported as a duplicate and stored nothing twice. Images are written to the
content-addressed store before the rows commit, so a committed row never points at a missing file.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from platekeeper.cameras.models import Camera
from platekeeper.cameras.service import record_upload
from platekeeper.config import Settings
from platekeeper.db import Base, utcnow
from platekeeper.reads.images import ImageRejected, ImageStore, PixelBudget, ValidImage, validate_image
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.reads.schemas import ImageRef, ReadIn

__all__ = ["AfterIngest", "BatchError", "IngestItem", "IngestResult", "ingest_batch", "insert_new_rows", "store_images"]

AfterIngest = Callable[[Session, Settings, list[uuid.UUID]], None]
"""Called in the transaction that stored new reads (camera uploads and the recognition worker alike), with their
ids: hotlist matching raises alerts there (``services.build_services`` registers the hooks)."""


class BatchError(ValueError):
    """The batch as a whole is malformed (not a list of reads, too many reads)."""


@dataclass
class IngestItem:
    index: int
    id: str | None
    status: str  # stored | queued (for recognition on the server) | duplicate | rejected
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class IngestResult:
    items: list[IngestItem] = field(default_factory=list)

    @property
    def stored_ids(self) -> list[uuid.UUID]:
        """Ids of the reads this batch stored (not duplicates, not rejected)."""
        return [uuid.UUID(item.id) for item in self.items if item.status == "stored" and item.id]

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.count("stored"),
            "queued": self.count("queued"),
            "duplicates": self.count("duplicate"),
            "rejected": self.count("rejected"),
            "results": [item.as_dict() for item in self.items],
        }


def _describe(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "read"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _decode(
    ref: ImageRef | None, parts: dict[str, bytes], settings: Settings, name: str, budget: PixelBudget
) -> ValidImage | None:
    if ref is None:
        return None
    if ref.part is not None:
        if ref.part not in parts:
            raise ImageRejected(f"{name}: no multipart file part named {ref.part!r}")
        data = parts[ref.part]
    else:
        try:
            data = base64.b64decode(ref.base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise ImageRejected(f"{name}: not valid base64") from None
    try:
        return validate_image(data, settings.ingest, budget)
    except ImageRejected as exc:
        raise ImageRejected(f"{name}: {exc}") from None


@dataclass
class _Prepared:
    index: int
    read: ReadIn
    crop: ValidImage | None
    overview: ValidImage | None


def _prepare(
    index: int, raw: Any, parts: dict[str, bytes], settings: Settings, budget: PixelBudget
) -> _Prepared | IngestItem:
    raw_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else None
    if not isinstance(raw, dict):
        return IngestItem(index, None, "rejected", "a read must be a JSON object")
    try:
        read = ReadIn.model_validate(raw)
    except ValidationError as exc:
        return IngestItem(index, raw_id, "rejected", _describe(exc))
    now = utcnow()
    if read.captured_at > now + timedelta(minutes=settings.ingest.max_clock_skew_minutes):
        return IngestItem(index, raw_id, "rejected", "captured_at: lies in the future (check the camera clock)")
    if read.captured_at < now - timedelta(days=settings.retention.days):
        return IngestItem(
            index,
            raw_id,
            "rejected",
            f"captured_at: older than the {settings.retention.days}-day retention period",
        )
    try:
        crop = _decode(read.crop_image, parts, settings, "crop_image", budget)
        overview = _decode(read.overview_image, parts, settings, "overview_image", budget)
    except ImageRejected as exc:
        return IngestItem(index, raw_id, "rejected", str(exc))
    return _Prepared(index, read, crop, overview)


def insert_new_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> set[Any]:
    """Insert the rows that are not there yet; return the primary keys actually inserted."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = sa_inspect(model).primary_key[0]
    return set(session.scalars(insert(model).values(rows).on_conflict_do_nothing().returning(key)))


def store_images(session: Session, store: ImageStore, images: list[ValidImage]) -> None:
    """Write each image file (once per digest) and its row; images already stored are left as they are."""
    unique = {image.sha256: image for image in images}
    for image in unique.values():
        store.put(image)
    insert_new_rows(
        session,
        StoredImage,
        [
            {
                "sha256": i.sha256,
                "media_type": i.media_type,
                "size_bytes": len(i.data),
                "width": i.width,
                "height": i.height,
                "stored_at": utcnow(),
            }
            for i in unique.values()
        ],
    )


def _job_row(p: _Prepared, camera: Camera) -> dict[str, Any]:
    read, image = p.read, p.overview or p.crop
    assert image is not None  # ReadIn requires an image when the plate is missing
    return {
        "id": read.id,
        "camera_id": camera.id,
        "image_sha256": image.sha256,
        "image_kind": "overview" if p.overview else "crop",
        "captured_at": read.captured_at,
        "latitude": read.latitude,
        "longitude": read.longitude,
        "heading": read.heading,
        "state": "pending",
        "attempts": 0,
        "created_at": utcnow(),
    }


def _row(p: _Prepared, camera: Camera) -> dict[str, Any]:
    read = p.read
    return {
        "id": read.id,
        "camera_id": camera.id,
        "plate": read.normalized_plate,
        "plate_raw": read.plate_raw if read.plate_raw is not None else read.plate,
        "confidence": read.confidence,
        "region": read.region,
        "captured_at": read.captured_at,
        "received_at": utcnow(),
        "latitude": read.latitude,
        "longitude": read.longitude,
        "heading": read.heading,
        "candidates": [c.model_dump() for c in read.candidates or []] or None,
        "crop_sha256": p.crop.sha256 if p.crop else None,
        "overview_sha256": p.overview.sha256 if p.overview else None,
    }


def _owners(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    owners: dict[uuid.UUID, int] = {}
    for model in (PlateRead, RecognitionJob):
        rows = session.execute(select(model.id, model.camera_id).where(model.id.in_(ids)))
        owners.update({row.id: row.camera_id for row in rows})
    return owners


def _classify(
    prepared: list[_Prepared], before: dict[uuid.UUID, int], camera: Camera, result: IngestResult
) -> list[_Prepared]:
    fresh: list[_Prepared] = []
    seen: set[uuid.UUID] = set()
    for p in prepared:
        rid = p.read.id
        if rid in before and before[rid] != camera.id:
            result.items.append(IngestItem(p.index, str(rid), "rejected", "id: already used by another camera"))
        elif rid in before or rid in seen:
            result.items.append(IngestItem(p.index, str(rid), "duplicate", "already stored; nothing changed"))
        else:
            seen.add(rid)
            fresh.append(p)
    return fresh


def ingest_batch(
    session: Session,
    settings: Settings,
    store: ImageStore,
    camera: Camera,
    payload: Any,
    parts: dict[str, bytes] | None = None,
) -> IngestResult:
    """Store the good reads of a batch, report duplicates and reject bad reads with their index and reason."""
    reads = payload.get("reads") if isinstance(payload, dict) else None
    if not isinstance(reads, list):
        raise BatchError("the body must be a JSON object with a list under 'reads'")
    if len(reads) > settings.ingest.max_batch_reads:
        raise BatchError(f"the batch holds {len(reads)} reads; the limit is {settings.ingest.max_batch_reads}")
    result = IngestResult()
    prepared: list[_Prepared] = []
    budget = PixelBudget(settings.ingest.max_batch_pixels)
    for index, raw in enumerate(reads):
        outcome = _prepare(index, raw, parts or {}, settings, budget)
        if isinstance(outcome, IngestItem):
            result.items.append(outcome)
        else:
            prepared.append(outcome)
    fresh = _classify(prepared, _owners(session, [p.read.id for p in prepared]), camera, result)
    store_images(session, store, [img for p in fresh for img in (p.crop, p.overview) if img is not None])
    direct = [p for p in fresh if not p.read.needs_recognition]
    queued = [p for p in fresh if p.read.needs_recognition]
    inserted = insert_new_rows(session, PlateRead, [_row(p, camera) for p in direct])
    inserted |= insert_new_rows(session, RecognitionJob, [_job_row(p, camera) for p in queued])
    for p in fresh:  # a concurrent upload of the same id may have won the race: then it is a duplicate
        if p.read.id not in inserted:
            result.items.append(IngestItem(p.index, str(p.read.id), "duplicate", "already stored; nothing changed"))
        else:
            result.items.append(IngestItem(p.index, str(p.read.id), "queued" if p.read.needs_recognition else "stored"))
    if inserted:
        record_upload(camera)
    result.items.sort(key=lambda item: item.index)
    return result
