"""Sharing (policy 462.7): the agency registry, written requests (from agencies and under the Public Records Act),
their releases (the sharing register) and the recipients' download links.

A request is never deleted with the reads: an approved or denied one is kept on file until its ``retain_until``
(``sharing.retention_days`` after the decision), and each release stays in the register with its counts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = [
    "AGENCY_KINDS",
    "CHANNELS",
    "JURISDICTIONS",
    "PRA_DETERMINATIONS",
    "REDACTABLE_FIELDS",
    "REQUEST_STATES",
    "SharingAgency",
    "SharingDisposedFile",
    "SharingLink",
    "SharingRelease",
    "SharingRequest",
]

AGENCY_KINDS = {
    "law_enforcement": "Law enforcement",
    "prosecutorial": "Prosecutorial",
    "other_public": "Other public agency",
    "private": "Private person or company",
}
JURISDICTIONS = {
    "california": "California state or local",
    "other_state": "Another state",
    "federal": "Federal",
    "none": "None (not a government)",
}
CHANNELS = {"agency": "Agency request (462.7)", "pra": "Public Records Act request"}
REQUEST_STATES = {
    "refused": "Refused by the sharing rules",
    "pending_review": "Waiting for the Records Manager's review",
    "approved": "Approved, not yet fulfilled",
    "denied": "Denied by the reviewer",
    "fulfilled": "Fulfilled",
    "received": "Received (PRA), determination due",
    "extended": "Determination extended (PRA)",
    "determined": "Determined (PRA), release pending",
    "closed": "Closed (PRA), nothing released",
}
PRA_DETERMINATIONS = {
    "release": "Records will be released (with the recorded redactions)",
    "no_records": "No responsive records",
    "exempt": "Withheld: exempt from disclosure",
}
REDACTABLE_FIELDS = {
    "plate": "Plate text",
    "captured_at": "Date and time",
    "camera": "Camera and its location",
    "coordinates": "Latitude, longitude and heading",
    "crop_image": "Plate crop image",
    "overview_image": "Overview image (the vehicle and its surroundings)",
}


class SharingAgency(Base):
    """An agency that may ask for ALPR data (or be refused): its type and jurisdiction decide the rules."""

    __tablename__ = "sharing_agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # a key of AGENCY_KINDS
    jurisdiction: Mapped[str] = mapped_column(String(32))  # a key of JURISDICTIONS
    ori: Mapped[str | None] = mapped_column(String(9), nullable=True)
    address: Mapped[str] = mapped_column(Text, default="")
    contacts: Mapped[str] = mapped_column(Text, default="")
    partner_agreement_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    partner_max_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SharingRequest(Base):
    """A written request for ALPR data: from an agency (462.7) or under the Public Records Act (``channel``)."""

    __tablename__ = "sharing_requests"
    __table_args__ = (Index("ix_sharing_requests_status", "channel", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # a key of CHANNELS
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_agencies.id"), nullable=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_contact: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)  # an authorized purpose's code
    description: Mapped[str] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    legal_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    plates: Mapped[list[str]] = mapped_column(JSON, default=list)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    camera_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # empty: every camera
    received_on: Mapped[date] = mapped_column(Date)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    document_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # a key of REQUEST_STATES
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # each rule that fired
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    approved_scope: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # plates, since, until, cameras
    retain_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    pra_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    pra_extended: Mapped[bool] = mapped_column(Boolean, default=False)
    pra_extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    pra_determination: Mapped[str | None] = mapped_column(String(16), nullable=True)  # a key of PRA_DETERMINATIONS
    pra_response: Mapped[str | None] = mapped_column(Text, nullable=True)
    redactions: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)  # field -> release | redact
    redactions_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SharingRelease(Base):
    """One fulfilment: what went to whom under which request, approved by whom, how many reads (the register)."""

    __tablename__ = "sharing_releases"
    __table_args__ = (Index("ix_sharing_releases_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("sharing_requests.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str] = mapped_column(String(64))
    released_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(16))  # link | media
    reads: Mapped[int] = mapped_column(Integer)
    images: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_to: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the downloader's address


class SharingLink(Base):
    """A recipient's download link: the SHA-256 of a random token, valid until ``expires_at``, used at most once."""

    __tablename__ = "sharing_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("sharing_releases.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_from: Mapped[str | None] = mapped_column(String(200), nullable=True)


class SharingDisposedFile(Base):
    """A file of a disposed request still to delete from disk: its document (by digest) or its package (by path),
    written in the same transaction as the request's deletion, so a purge killed before the file goes leaves this
    row for the next purge."""

    __tablename__ = "sharing_disposed_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # document | package
    name: Mapped[str] = mapped_column(Text)  # the document's SHA-256, or the package's path
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
