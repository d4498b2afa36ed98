"""Evidence packages (462.9): a held case's reads exported to portable media with a signed manifest.

A package is a folder (written to a mount point) or the same folder as a ZIP. It holds the reads as CSV and JSON,
their images, the audit events that concern them, a chain-of-custody record (HTML and PDF: who exported what, when,
why, under which case and property booking number), the installation's public key, and ``manifest.json``: every
other file's SHA-256 and size, signed with the installation's Ed25519 key. :func:`verify_package` names each file
that was altered, added or removed, and checks the signature.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from platekeeper.access.principal import Principal
from platekeeper.audit.concerning import events_concerning
from platekeeper.audit.events import EvidenceExported
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.db import json_value, utcnow
from platekeeper.reads.images import ImageStore
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.retention.floor import scope_matches
from platekeeper.retention.models import HOLD_REASONS, EvidenceExport, LegalHold
from platekeeper.retention.service.holds import HoldNotFound, HoldRefused
from platekeeper.retention.service.package import EVIDENCE_MANIFEST, write_package

__all__ = ["EvidencePackage", "export_evidence", "image_files", "reads_files"]

BOOKING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
READ_COLUMNS = (
    "id", "plate", "corrected_plate", "correction", "confidence", "captured_at", "camera_id", "camera",
    "latitude", "longitude", "heading", "crop_file", "overview_file",
)  # fmt: skip
MEDIA_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
Renderer = Callable[[dict[str, Any]], tuple[str, bytes]]  # custody record -> (HTML, PDF)


@dataclass(frozen=True)
class EvidencePackage:
    export: EvidenceExport
    path: Path
    files: dict[str, bytes]


def _held_reads(work: Work, hold: LegalHold) -> list[tuple[PlateRead, str]]:
    stmt = (
        select(PlateRead, Camera.name)
        .join(Camera, Camera.id == PlateRead.camera_id)
        .where(scope_matches(), LegalHold.id == hold.id)
        .order_by(PlateRead.captured_at, PlateRead.id)
    )
    return [(row.PlateRead, row.name) for row in work.session.execute(stmt.select_from(PlateRead, LegalHold))]


def image_files(work: Work, store: ImageStore, reads: list[tuple[PlateRead, str]]) -> dict[str, tuple[str, bytes]]:
    """digest -> (file name in the package, plaintext) for every image the reads name."""
    digests = {d for read, _ in reads for d in (read.crop_sha256, read.overview_sha256) if d}
    types = (
        dict(
            work.session.execute(
                select(StoredImage.sha256, StoredImage.media_type).where(StoredImage.sha256.in_(digests))
            ).all()
        )
        if digests
        else {}
    )
    files = {}
    for digest in sorted(digests):
        try:
            data = store.get(digest)
        except (FileNotFoundError, ValueError):
            continue  # named by the read but not on disk: the manifest lists what is there, images check finds it
        files[digest] = (f"images/{digest}{MEDIA_SUFFIX.get(types.get(digest, ''), '.bin')}", data)
    return files


def reads_files(reads: list[tuple[PlateRead, str]], images: dict[str, tuple[str, bytes]]) -> dict[str, bytes]:
    rows = []
    for read, camera in reads:
        row = {column: json_value(getattr(read, column, None)) for column in READ_COLUMNS}
        row.update(id=str(read.id), camera=camera)
        row["crop_file"] = images.get(read.crop_sha256 or "", ("", b""))[0] or None
        row["overview_file"] = images.get(read.overview_sha256 or "", ("", b""))[0] or None
        rows.append(row)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=READ_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return {"reads.csv": text.getvalue().encode(), "reads.json": json.dumps(rows, indent=2).encode()}


def _check(work: Work, principal: Principal, hold_id: int, booking_number: str) -> LegalHold:
    principal.require("holds.request")
    hold = work.session.get(LegalHold, hold_id)
    if hold is None:
        raise HoldNotFound(f"no legal hold with id {hold_id}")
    if hold.status != "active":
        raise HoldRefused("status", f"the hold is {hold.status}; evidence is exported from an approved (active) hold")
    if not BOOKING.fullmatch(booking_number.strip()):
        raise HoldRefused("booking_number", "the property booking number: letters, digits and . _ / - (at most 64)")
    return hold


def export_evidence(
    work: Work,
    principal: Principal,
    hold_id: int,
    booking_number: str,
    *,
    store: ImageStore,
    signer: InstallationKey,
    render: Renderer,
    destination: Path,
    as_zip: bool = True,
) -> EvidencePackage:
    """Write the hold's evidence package under ``destination`` (a ZIP, or a folder at a mount point), record it
    on the hold and in the audit log, and return it."""
    hold = _check(work, principal, hold_id, booking_number)
    booking_number, now = booking_number.strip(), utcnow()
    reads = _held_reads(work, hold)
    images = image_files(work, store, reads)
    files = reads_files(reads, images)
    files.update({name: data for name, data in images.values()})
    read_ids = {str(read.id) for read, _ in reads}
    events = list(events_concerning(work.session, read_ids=read_ids, hold_id=hold.id, case_number=hold.case_number))
    files["audit-events.jsonl"] = "".join(json.dumps(e, sort_keys=True) + "\n" for e in events).encode()
    record = _custody_record(work, principal, hold, booking_number, now, len(reads), len(images), len(events))
    html, pdf = render(record)
    files.update({"chain-of-custody.html": html.encode(), "chain-of-custody.pdf": pdf})
    header = {"type": EVIDENCE_MANIFEST}
    header |= {key: record[key] for key in ("agency", "case_number", "booking_number", "hold_id", "exported_by")}
    header["exported_at"] = record["exported_at"]
    name = f"evidence-hold{hold.id}-{re.sub(r'[^A-Za-z0-9._-]', '_', booking_number)}-{now:%Y%m%dT%H%M%SZ}"
    written = write_package(destination, name, files, header, signer, as_zip=as_zip)
    path, files, manifest_sha256 = written.path, written.files, written.manifest_sha256
    export = EvidenceExport(
        hold_id=hold.id,
        booking_number=booking_number,
        location=str(path),
        reads=len(reads),
        manifest_sha256=manifest_sha256,
        exported_by=principal.username,
        exported_at=now,
    )
    work.session.add(export)
    work.session.flush()
    event = EvidenceExported(hold_id=hold.id, booking_number=booking_number, reads=len(reads), images=len(images),
                             audit_events=len(events), manifest_sha256=manifest_sha256, location=str(path))  # fmt: skip
    work.by(principal).record(event, case_number=hold.case_number)
    return EvidencePackage(export=export, path=path, files=files)


def _custody_record(
    work: Work, principal: Principal, hold: LegalHold, booking: str, now: datetime, reads: int, images: int, events: int
) -> dict[str, Any]:
    return {
        "agency": work.settings.agency.name,
        "case_number": hold.case_number,
        "booking_number": booking,
        "hold_id": hold.id,
        "reason": HOLD_REASONS.get(hold.reason, hold.reason),
        "description": hold.description,
        "requested_by": hold.requested_by,
        "approved_by": hold.decided_by,
        "exported_by": principal.username,
        "exported_by_name": principal.display_name,
        "exported_at": now.isoformat(),
        "exported_at_local": now.astimezone(work.settings.tz).strftime("%Y-%m-%d %H:%M %Z"),
        "reads": reads,
        "images": images,
        "audit_events": events,
    }
