"""Evidence packages (462.9): a held case's reads exported to portable media with a signed manifest.

A package is a folder (written to a mount point) or the same folder as a ZIP. It holds the reads as CSV and JSON,
their images, the audit events that concern them, a chain-of-custody record (HTML and PDF: who exported what, when,
why, under which case and property booking number), the installation's public key, and ``manifest.json``: every
other file's SHA-256 and size, signed with the installation's Ed25519 key. :func:`verify_package` names each file
that was altered, added or removed, and checks the signature.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
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
from platekeeper.retention.service.signed import sign_document, verify_document

__all__ = ["MANIFEST", "MANIFEST_TYPE", "EvidencePackage", "PackageInvalid", "export_evidence", "verify_package"]

MANIFEST = "manifest.json"
MANIFEST_TYPE = "platekeeper.evidence-manifest/1"
BOOKING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
READ_COLUMNS = (
    "id", "plate", "corrected_plate", "correction", "confidence", "captured_at", "camera_id", "camera",
    "latitude", "longitude", "heading", "crop_file", "overview_file",
)  # fmt: skip
MEDIA_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
Renderer = Callable[[dict[str, Any]], tuple[str, bytes]]  # custody record -> (HTML, PDF)


class PackageInvalid(ValueError):
    """The package cannot be read at all (no manifest, not a ZIP or folder); the message says what."""


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


def _image_files(work: Work, store: ImageStore, reads: list[tuple[PlateRead, str]]) -> dict[str, tuple[str, bytes]]:
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


def _reads_files(reads: list[tuple[PlateRead, str]], images: dict[str, tuple[str, bytes]]) -> dict[str, bytes]:
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
    images = _image_files(work, store, reads)
    files = _reads_files(reads, images)
    files.update({name: data for name, data in images.values()})
    read_ids = {str(read.id) for read, _ in reads}
    events = list(events_concerning(work.session, read_ids=read_ids, hold_id=hold.id, case_number=hold.case_number))
    files["audit-events.jsonl"] = "".join(json.dumps(e, sort_keys=True) + "\n" for e in events).encode()
    record = _custody_record(work, principal, hold, booking_number, now, len(reads), len(images), len(events))
    html, pdf = render(record)
    files.update({"chain-of-custody.html": html.encode(), "chain-of-custody.pdf": pdf})
    files["signing-key.pem"] = signer.public_pem.encode()
    manifest = sign_document(signer, _manifest(record, files))
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    name = f"evidence-hold{hold.id}-{re.sub(r'[^A-Za-z0-9._-]', '_', booking_number)}-{now:%Y%m%dT%H%M%SZ}"
    path = _write(destination, name, files, as_zip)
    manifest_sha256 = hashlib.sha256(files[MANIFEST]).hexdigest()
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


def _manifest(record: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    return {
        "type": MANIFEST_TYPE,
        **{
            key: record[key]
            for key in ("agency", "case_number", "booking_number", "hold_id", "exported_by", "exported_at")
        },
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(files.items())
        },
    }


def _write(destination: Path, name: str, files: dict[str, bytes], as_zip: bool) -> Path:
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    if as_zip:
        path = destination / f"{name}.zip"
        partial = path.with_suffix(".zip.partial")
        with zipfile.ZipFile(partial, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in sorted(files.items()):
                archive.writestr(zipfile.ZipInfo(f"{name}/{member}", date_time=(2000, 1, 1, 0, 0, 0)), data)
        partial.replace(path)
        return path
    folder = destination / name
    for member, data in files.items():
        target = folder / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def _read_package(path: Path) -> dict[str, bytes]:
    """Every file of a package (a folder or a ZIP) by its name inside the package."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackageInvalid(f"{path}: neither a package folder nor a ZIP ({exc})") from None
    tops = {PurePosixPath(name).parts[0] for name in members}
    if len(tops) != 1:
        raise PackageInvalid(f"{path}: a package ZIP holds one folder")
    return {str(PurePosixPath(*PurePosixPath(name).parts[1:])): data for name, data in members.items()}


def verify_package(path: Path, public: Ed25519PublicKey) -> list[str]:
    """What is wrong with the package at ``path``: the manifest's signature, and each file altered, added or
    removed. An empty list when every file is as signed."""
    files = _read_package(path)
    if MANIFEST not in files:
        raise PackageInvalid(f"{path}: no {MANIFEST}")
    try:
        signed = json.loads(files.pop(MANIFEST))
    except ValueError as exc:
        raise PackageInvalid(f"{MANIFEST}: not JSON ({exc})") from None
    problems = [f"{MANIFEST}: {p}" for p in verify_document(signed, MANIFEST_TYPE, public)]
    listed = signed.get("document", {}).get("files", {}) if isinstance(signed, dict) else {}
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            problems.append(f"{name}: removed (listed in the manifest, missing from the package)")
        elif name not in listed:
            problems.append(f"{name}: added (not in the manifest)")
        elif hashlib.sha256(files[name]).hexdigest() != listed[name].get("sha256"):
            problems.append(f"{name}: altered (its SHA-256 differs from the manifest's)")
    return problems
