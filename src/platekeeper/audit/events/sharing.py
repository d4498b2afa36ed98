"""Audit events of sharing (462.7): the agency registry, requests and their rules, reviews, fulfilments, the
recipients' downloads, the register, and Public Records Act requests."""

from __future__ import annotations

from typing import Any, ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "PraDetermined",
    "PraExtended",
    "PraRedactionsRecorded",
    "PraRequestEntered",
    "SharingAgencyChanged",
    "SharingDownloaded",
    "SharingFulfilled",
    "SharingRegisterViewed",
    "SharingRequestEntered",
    "SharingRequestOpened",
    "SharingReviewed",
    "SharingStepRefused",
]


class SharingAgencyChanged(AuditEventType):
    """An agency was added to the sharing registry or changed: each field before and after."""

    action: ClassVar[str] = "sharing.agency"
    agency_id: int = detail("Agency")
    name: str = detail("Name")
    changes: dict[str, Any] = detail("Changes (before, after)")


class SharingRequestEntered(AuditEventType):
    """A written sharing request was entered and checked against the sharing rules: each rule that fired, and
    whether it went to review or was refused."""

    action: ClassVar[str] = "sharing.request"
    request_id: int = detail("Request")
    agency: str = detail("Agency")
    requester: str = detail("Requested by")
    status: str = detail("Status")
    rules: list[str] = detail("Rules that fired")
    plates: int = detail("Plates named")
    cameras: int = detail("Cameras named")
    document_sha256: str | None = optional_detail("Request document SHA-256")


class SharingRequestOpened(AuditEventType):
    """A sharing or PRA request was opened: its page, its record through the API, or its written request (the
    plates, window and cameras it asks for are plate data)."""

    action: ClassVar[str] = "sharing.open"
    request_id: int = detail("Request")
    channel: str = detail("Channel")
    what: str = detail("Opened")


class SharingStepRefused(AuditEventType):
    """A step on a sharing or PRA request, or a partner agency's query, was refused (approving one's own request,
    reviewing without being the Records Manager or a designee, a request not in the state the step needs, a release
    without redactions, a partner query outside its agreement or the sharing rules)."""

    action: ClassVar[str] = "sharing.refused"
    step: str = detail("Step")
    why: str = detail("Why")
    request_id: int | None = optional_detail("Request")


class SharingReviewed(AuditEventType):
    """A sharing request was approved (possibly narrowed) or denied with a reason, by someone other than who
    entered it (462.7b)."""

    action: ClassVar[str] = "sharing.review"
    request_id: int = detail("Request")
    decision: str = detail("Decision")
    entered_by: str = detail("Entered by")
    narrowed: bool = detail("Scope narrowed")
    retain_until: str = detail("Kept on file until")
    note: str | None = optional_detail("Note")


class SharingFulfilled(AuditEventType):
    """An approved request's reads were packaged (signed manifest) for the recipient: a download link or media."""

    action: ClassVar[str] = "sharing.fulfil"
    request_id: int = detail("Request")
    release_id: int = detail("Release")
    channel: str = detail("Channel")
    recipient: str = detail("Recipient")
    method: str = detail("Delivery")
    reads: int = detail("Reads")
    images: int = detail("Images")
    manifest_sha256: str = detail("Manifest SHA-256")
    link_expires: str | None = optional_detail("Link expires")
    redacted: list[str] | None = optional_detail("Fields redacted")


class SharingDownloaded(AuditEventType):
    """A recipient used (or tried to use) a download link, from the address recorded."""

    action: ClassVar[str] = "sharing.download"
    address: str = detail("Recipient's address")
    release_id: int | None = optional_detail("Release")
    request_id: int | None = optional_detail("Request")
    recipient: str | None = optional_detail("Recipient")
    why: str | None = optional_detail("Why refused")


class SharingRegisterViewed(AuditEventType):
    """The sharing register was opened or exported."""

    action: ClassVar[str] = "sharing.register"
    shown: int = detail("Releases shown")
    format: str = detail("Format")


class PraRequestEntered(AuditEventType):
    """A Public Records Act request was received and routed to Records, with its determination deadline."""

    action: ClassVar[str] = "pra.request"
    request_id: int = detail("Request")
    requester: str = detail("Requester")
    received_on: str = detail("Received on")
    due_on: str = detail("Determination due")
    document_sha256: str | None = optional_detail("Request document SHA-256")


class PraExtended(AuditEventType):
    """A PRA determination was extended (once, with a reason), to the new deadline."""

    action: ClassVar[str] = "pra.extend"
    request_id: int = detail("Request")
    due_on: str = detail("Determination due")
    reason: str = detail("Reason")


class PraDetermined(AuditEventType):
    """A PRA request was determined: records to release, none, or exempt, with the response sent."""

    action: ClassVar[str] = "pra.determine"
    request_id: int = detail("Request")
    determination: str = detail("Determination")
    days_left: int = detail("Days left to the deadline")


class PraRedactionsRecorded(AuditEventType):
    """The per-field redaction decisions for a PRA release were recorded, before any plate data was released."""

    action: ClassVar[str] = "pra.redactions"
    request_id: int = detail("Request")
    decisions: dict[str, str] = detail("Decision per field")
