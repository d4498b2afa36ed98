"""Fulfilment (462.7): an approved request's reads, limited to exactly the approved scope and to reads within
retention, packaged with a signed manifest (``retention.service.package``, the evidence packages' format) and
delivered by an expiring, single-use download link or written to media. Every step is audited; the download with
the recipient's address.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from platekeeper.access.context import own_context, record_access
from platekeeper.access.principal import Principal
from platekeeper.audit.events import SharingDownloaded, SharingFulfilled
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.db import json_value, utcnow
from platekeeper.reads.images import ImageStore
from platekeeper.reads.models import PlateRead
from platekeeper.retention.floor import retention_cutoff
from platekeeper.retention.service.evidence import image_files
from platekeeper.retention.service.package import SHARING_MANIFEST, write_package
from platekeeper.sharing.models import SharingAgency, SharingLink, SharingRelease, SharingRequest
from platekeeper.sharing.service.common import RequestScope, SharingRefused, refuse_step
from platekeeper.sharing.service.requests import get_request

__all__ = [
    "Download",
    "Fulfilment",
    "LinkRefused",
    "fulfil_request",
    "open_link",
    "peek_link",
    "remove_expired_packages",
    "shared_reads",
]

COLUMNS = (
    "id", "plate", "corrected_plate", "captured_at", "camera_id", "camera", "latitude", "longitude", "heading",
    "confidence", "crop_file", "overview_file",
)  # fmt: skip
REDACTS = {  # redactable field -> the columns it blanks
    "plate": ("plate", "corrected_plate"),
    "captured_at": ("captured_at",),
    "camera": ("camera_id", "camera"),
    "coordinates": ("latitude", "longitude", "heading"),
    "crop_image": ("crop_file",),
    "overview_image": ("overview_file",),
}
REDACTED = "[redacted]"


class LinkRefused(LookupError):
    """A download link that does not open: unknown, expired or already used (``why``)."""

    def __init__(self, why: str, status: int) -> None:
        self.why, self.status = why, status
        super().__init__(why)


@dataclass(frozen=True)
class Fulfilment:
    release: SharingRelease
    path: Path
    token: str | None  # the download link's token: shown once, stored only as its SHA-256
    files: dict[str, bytes]


@dataclass(frozen=True)
class Download:
    release: SharingRelease
    name: str
    data: bytes


def scope_of(row: SharingRequest) -> RequestScope:
    """What may be released: the approved scope of an agency request, the scope asked of a determined PRA request."""
    if row.channel == "agency":
        if row.approved_scope is None:
            raise SharingRefused("status", f"the request is {row.status}; only an approved request is fulfilled")
        return RequestScope.from_json(row.approved_scope)
    return RequestScope(tuple(row.plates), row.since, row.until, tuple(row.camera_ids))


def shared_reads(work: Work, scope: RequestScope, now: datetime) -> list[tuple[PlateRead, str]]:
    """The reads in ``scope`` still within retention (462.9): nothing past ``retention.days`` is ever shared."""
    floor = max(scope.since, retention_cutoff(now, work.settings.retention.days))
    stmt = (
        select(PlateRead, Camera.name)
        .join(Camera, Camera.id == PlateRead.camera_id)
        .where(PlateRead.captured_at >= floor, PlateRead.captured_at < scope.until)
    )
    if scope.plates:
        stmt = stmt.where(or_(PlateRead.plate.in_(scope.plates), PlateRead.corrected_plate.in_(scope.plates)))
    if scope.camera_ids:
        stmt = stmt.where(PlateRead.camera_id.in_(scope.camera_ids))
    rows = work.session.execute(stmt.order_by(PlateRead.captured_at, PlateRead.id))
    return [(row.PlateRead, row.name) for row in rows]


def _reads_files(
    reads: list[tuple[PlateRead, str]], images: dict[str, tuple[str, bytes]], redacted: set[str]
) -> dict[str, bytes]:
    blank = {column for field in redacted for column in REDACTS[field]}
    rows = []
    for read, camera in reads:
        row: dict[str, Any] = {column: json_value(getattr(read, column, None)) for column in COLUMNS}
        row.update(id=str(read.id), camera=camera)
        row["crop_file"] = images.get(read.crop_sha256 or "", ("", b""))[0] or None
        row["overview_file"] = images.get(read.overview_sha256 or "", ("", b""))[0] or None
        rows.append({k: (REDACTED if k in blank else v) for k, v in row.items()})
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return {"reads.csv": text.getvalue().encode(), "reads.json": json.dumps(rows, indent=2).encode()}


def _released_images(
    work: Work, store: ImageStore, reads: list[tuple[PlateRead, str]], redacted: set[str]
) -> dict[str, tuple[str, bytes]]:
    wanted = set()
    for read, _ in reads:
        if read.crop_sha256 and "crop_image" not in redacted:
            wanted.add(read.crop_sha256)
        if read.overview_sha256 and "overview_image" not in redacted:
            wanted.add(read.overview_sha256)
    return {d: f for d, f in image_files(work, store, reads).items() if d in wanted}


def _check(work: Work, principal: Principal, row: SharingRequest) -> tuple[str, set[str]]:
    """The recipient's name and the fields to redact, or :class:`SharingRefused`."""
    if row.channel == "agency":
        if row.status != "approved":
            raise SharingRefused("status", f"the request is {row.status}; only an approved request is fulfilled")
        agency = work.session.get(SharingAgency, row.agency_id)
        return (agency.name if agency else "?"), set()
    if row.status != "determined" or row.pra_determination != "release":
        raise SharingRefused("status", f"the request is {row.status}; a PRA release follows a release determination")
    if not row.redactions:
        raise SharingRefused("redactions", "record the redaction decision for every field before releasing")
    return row.requester_name, {f for f, d in row.redactions.items() if d == "redact"}


def _record_file(work: Work, row: SharingRequest, release_id: int, recipient: str, now: datetime) -> bytes:
    record = {
        "agency": work.settings.agency.name, "request_id": row.id, "release_id": release_id, "channel": row.channel,
        "recipient": recipient, "requester": row.requester_name, "requester_contact": row.requester_contact,
        "purpose": row.purpose, "description": row.description, "case_number": row.case_number,
        "legal_basis": row.legal_basis, "received_on": row.received_on.isoformat(),
        "approved_scope": scope_of(row).as_json(), "approved_by": row.reviewed_by,
        "approved_at": row.reviewed_at.isoformat() if row.reviewed_at else None, "redactions": row.redactions,
        "released_at": now.isoformat(), "retention_days": work.settings.retention.days,
    }  # fmt: skip
    return json.dumps(record, indent=2, sort_keys=True).encode()


def fulfil_request(
    work: Work,
    principal: Principal,
    request_id: int,
    *,
    store: ImageStore,
    signer: InstallationKey,
    destination: Path,
    method: str = "link",
    as_zip: bool = True,
) -> Fulfilment:
    """Package the request's reads (approved scope, within retention) under ``destination`` and record the release
    in the register; with ``method`` ``link``, issue the recipient's single-use link (valid ``sharing.link_hours``)."""
    principal.require("sharing.intake" if get_request(work, request_id).channel == "agency" else "pra.manage")
    row = get_request(work, request_id)
    try:
        recipient, redacted = _check(work, principal, row)
    except SharingRefused as exc:
        raise refuse_step(work, principal, request_id, "fulfil", exc) from None
    now = utcnow()
    reads = shared_reads(work, scope_of(row), now)
    release = SharingRelease(
        request_id=row.id, channel=row.channel, recipient=recipient, approved_by=row.reviewed_by or "",
        released_by=principal.username, created_at=now, method=method, reads=len(reads), images=0,
        manifest_sha256="", location="",
    )  # fmt: skip
    work.session.add(release)
    work.session.flush()
    images = _released_images(work, store, reads, redacted)
    files = _reads_files(reads, images, redacted) | {name: data for name, data in images.values()}
    files["request.json"] = _record_file(work, row, release.id, recipient, now)
    header = {"type": SHARING_MANIFEST, "agency": work.settings.agency.name, "request_id": row.id,
              "release_id": release.id, "recipient": recipient, "released_by": principal.username,
              "released_at": now.isoformat()}  # fmt: skip
    name = f"sharing-request{row.id}-{now:%Y%m%dT%H%M%SZ}"
    written = write_package(destination, name, files, header, signer, as_zip=as_zip)
    release.images, release.manifest_sha256, release.location = len(images), written.manifest_sha256, str(written.path)
    row.status = "fulfilled"
    token = _issue_link(work, release, now) if method == "link" else None
    _audit_fulfilment(work, principal, row, release, redacted, token)
    return Fulfilment(release=release, path=written.path, token=token, files=written.files)


def _issue_link(work: Work, release: SharingRelease, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=work.settings.sharing.link_hours)
    work.session.add(SharingLink(release_id=release.id, token_sha256=_digest(token), expires_at=expires))
    return token


def _audit_fulfilment(
    work: Work,
    principal: Principal,
    row: SharingRequest,
    release: SharingRelease,
    redacted: set[str],
    token: str | None,
) -> None:
    link = work.session.scalar(select(SharingLink).where(SharingLink.release_id == release.id)) if token else None
    event = SharingFulfilled(
        request_id=row.id, release_id=release.id, channel=row.channel, recipient=release.recipient,
        method=release.method, reads=release.reads, images=release.images, manifest_sha256=release.manifest_sha256,
        link_expires=link.expires_at.isoformat() if link else None, redacted=sorted(redacted) if redacted else None,
    )  # fmt: skip
    if row.channel == "agency" and row.purpose:
        why = f"sharing request {row.id} from {release.recipient}, approved by {row.reviewed_by} (policy 462.7)"
        ctx = own_context(principal, work.settings.access, purpose=row.purpose, reference=row.case_number or "",
                          justification=why)  # fmt: skip
        record_access(work, ctx, event)  # plate data read for the package: audited like a search, with its purpose
    else:
        work.by(principal).record(event, case_number=f"PRA-{row.id}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def peek_link(work: Work, token: str) -> tuple[SharingLink, SharingRelease]:
    """The link and its release if it would open now (nothing is used or recorded); :class:`LinkRefused` if not."""
    link = work.session.scalar(select(SharingLink).where(SharingLink.token_sha256 == _digest(token)))
    if link is None:
        raise LinkRefused("this download link is not known", 404)
    release = work.session.get(SharingRelease, link.release_id)
    if release is None:
        raise LinkRefused("this download link is not known", 404)
    if link.used_at is not None:
        raise LinkRefused("this download link was already used; it works once", 410)
    if link.expires_at <= utcnow():
        raise LinkRefused("this download link has expired", 410)
    return link, release


def open_link(work: Work, token: str, address: str) -> Download:
    """Use the link once: the package's bytes, the release marked delivered to ``address``, and the package file
    removed from the server. A refusal is recorded (with the address) and raised as :class:`LinkRefused`."""
    try:
        link, release = peek_link(work, token)
        used = work.session.execute(
            update(SharingLink).where(SharingLink.id == link.id, SharingLink.used_at.is_(None))
            .values(used_at=utcnow(), used_from=address)
        )  # fmt: skip
        if getattr(used, "rowcount", 0) != 1:
            raise LinkRefused("this download link was already used; it works once", 410)
        path = Path(release.location)
        data = path.read_bytes()
    except (LinkRefused, OSError) as exc:
        why = exc.why if isinstance(exc, LinkRefused) else "the package is no longer on the server"
        if isinstance(exc, LinkRefused) and exc.why.endswith("expired"):
            remove_expired_packages(work)
        work.record(SharingDownloaded(address=address, why=why), outcome="refused")
        raise exc if isinstance(exc, LinkRefused) else LinkRefused(why, 410) from None
    release.delivered_at, release.delivered_to = utcnow(), address
    event = SharingDownloaded(address=address, release_id=release.id, request_id=release.request_id,
                              recipient=release.recipient)  # fmt: skip
    work.record(event, case_number=f"SHARE-{release.request_id}")
    path.unlink(missing_ok=True)  # the recipient has it; the register keeps the manifest's digest
    return Download(release=release, name=path.name, data=data)


def remove_expired_packages(work: Work) -> int:
    """Delete from the server the packages whose links expired unused (the register keeps their manifest digests):
    plate data never waits on the server past its link. Returns how many files were removed."""
    stmt = (
        select(SharingRelease)
        .join(SharingLink, SharingLink.release_id == SharingRelease.id)
        .where(SharingLink.used_at.is_(None), SharingLink.expires_at <= utcnow(), SharingRelease.method == "link")
    )
    removed = 0
    for release in work.session.scalars(stmt):
        path = Path(release.location)
        if path.is_file():
            path.unlink()
            removed += 1
    return removed
