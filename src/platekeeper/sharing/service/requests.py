"""Agency requests (462.7): intake with the rules checked at once, and the review by the Records Manager or a
designee, never by the account that entered the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from platekeeper.access.principal import Principal
from platekeeper.audit.events import SharingRequestEntered, SharingRequestOpened, SharingReviewed
from platekeeper.audit.work import Work
from platekeeper.db import utcnow
from platekeeper.reads.images import ImageStore
from platekeeper.sharing.models import SharingAgency, SharingRequest
from platekeeper.sharing.service.common import (
    RequestScope,
    SharingNotFound,
    SharingRefused,
    check_received_on,
    clean_text,
    refuse_step,
    validate_scope,
)
from platekeeper.sharing.service.documents import check_document, store_document
from platekeeper.sharing.service.rules import check_rules, refused

__all__ = ["SharingRequestIn", "get_request", "list_requests", "open_request", "review_request", "submit_request"]


@dataclass(frozen=True)
class SharingRequestIn:
    """A written request from an agency: who asks, why, for what, when it arrived, and the document itself."""

    agency_id: int
    requester_name: str
    requester_contact: str
    purpose: str
    description: str
    case_number: str
    legal_basis: str
    scope: RequestScope
    received_on: date
    document: bytes


def _validated(work: Work, request: SharingRequestIn) -> tuple[SharingAgency, SharingRequestIn]:
    agency = work.session.get(SharingAgency, request.agency_id)
    if agency is None:
        raise SharingRefused("agency_id", "choose an agency from the registry")
    if work.settings.access.purpose(request.purpose) is None:
        codes = ", ".join(p.code for p in work.settings.access.purposes)
        raise SharingRefused("purpose", f"one of the authorized purposes ({codes})")
    case = clean_text(request.case_number, "case_number", 1, 64).upper()
    return agency, SharingRequestIn(
        agency_id=agency.id,
        requester_name=clean_text(request.requester_name, "requester_name", 2, 200),
        requester_contact=clean_text(request.requester_contact, "requester_contact", 3, 300),
        purpose=request.purpose,
        description=clean_text(request.description, "description", 10, 2000),
        case_number=case,
        legal_basis=clean_text(request.legal_basis, "legal_basis", 3, 2000),
        scope=validate_scope(work.session, work.settings, request.scope),
        received_on=check_received_on(request.received_on, work.settings.today()),
        document=request.document,
    )


def submit_request(
    work: Work, principal: Principal, request: SharingRequestIn, *, documents: ImageStore
) -> SharingRequest:
    """Record an agency's written request and check it against the sharing rules: it goes to review, or is
    refused naming each rule that fired. Audited either way."""
    principal.require("sharing.intake")
    agency, request = _validated(work, request)
    document = check_document(work.settings, request.document)
    purpose = work.settings.access.purpose(request.purpose)
    decisions = check_rules(
        work.settings.sharing,
        kind=agency.kind,
        jurisdiction=agency.jurisdiction,
        purpose=f"{request.purpose} {purpose.label if purpose else ''}",
        texts=(request.description, request.legal_basis),
        scope=request.scope,
    )
    store_document(documents, document)
    scope = request.scope
    row = SharingRequest(
        channel="agency", agency_id=agency.id, requester_name=request.requester_name,
        requester_contact=request.requester_contact, purpose=request.purpose, description=request.description,
        case_number=request.case_number, legal_basis=request.legal_basis, plates=list(scope.plates),
        since=scope.since, until=scope.until, camera_ids=list(scope.camera_ids), received_on=request.received_on,
        document_sha256=document.sha256, document_type=document.media_type, entered_by=principal.username,
        entered_at=utcnow(), status="refused" if refused(decisions) else "pending_review",
        decisions=[d.as_json() for d in decisions], pra_extended=False,
    )  # fmt: skip
    work.session.add(row)
    work.session.flush()
    event = SharingRequestEntered(
        request_id=row.id, agency=agency.name, requester=row.requester_name, status=row.status,
        rules=[f"{d.rule}: {d.action}" for d in decisions], plates=len(scope.plates),
        cameras=len(scope.camera_ids), document_sha256=document.sha256,
    )  # fmt: skip
    outcome = "refused" if row.status == "refused" else "success"
    work.by(principal).record(event, outcome=outcome, case_number=row.case_number)
    return row


def get_request(work: Work, request_id: int, channel: str | None = None) -> SharingRequest:
    row = work.session.get(SharingRequest, request_id)
    if row is None or (channel is not None and row.channel != channel):
        raise SharingNotFound(f"no {'PRA ' if channel == 'pra' else ''}request with id {request_id}")
    return row


def open_request(work: Work, principal: Principal, request_id: int, channel: str, what: str) -> SharingRequest:
    """A request as someone opens it (``what``: its page, the API's record or its document): recorded, since what
    it asks for names plates (:class:`SharingNotFound` for another channel's or no request)."""
    row = get_request(work, request_id, channel)
    work.by(principal).record(SharingRequestOpened(request_id=row.id, channel=row.channel, what=what))
    return row


def list_requests(work: Work, channel: str, status: str | None = None) -> list[SharingRequest]:
    """The requests of one channel (``agency`` or ``pra``), newest first."""
    stmt = select(SharingRequest).where(SharingRequest.channel == channel)
    if status:
        stmt = stmt.where(SharingRequest.status == status)
    return list(work.session.scalars(stmt.order_by(SharingRequest.entered_at.desc(), SharingRequest.id.desc())))


def _narrowed(work: Work, row: SharingRequest, scope: RequestScope | None) -> RequestScope:
    asked = RequestScope(tuple(row.plates), row.since, row.until, tuple(row.camera_ids))
    if scope is None:
        return asked
    scope = validate_scope(work.session, work.settings, scope)
    if asked.plates and (not scope.plates or not set(scope.plates) <= set(asked.plates)):
        raise SharingRefused("plates", "an approval may only narrow the plates asked for")
    if scope.since < asked.since or scope.until > asked.until:
        raise SharingRefused("since", "an approval may only narrow the time window asked for")
    if asked.camera_ids and (not scope.camera_ids or not set(scope.camera_ids) <= set(asked.camera_ids)):
        raise SharingRefused("camera_ids", "an approval may only narrow the cameras asked for")
    return scope


def _check_reviewer(work: Work, principal: Principal, row: SharingRequest) -> None:
    reviewers = {"records_manager", *work.settings.sharing.designee_roles}
    if principal.role not in reviewers:
        raise SharingRefused("reviewer", "only the Records Manager or a designee role (sharing.designee_roles) reviews")
    if row.entered_by == principal.username:
        raise SharingRefused("reviewer", "a request is never approved by the account that entered it (462.7b)")
    if row.status != "pending_review":
        raise SharingRefused("status", f"the request is {row.status}; only a request pending review is reviewed")


def review_request(
    work: Work, principal: Principal, request_id: int, *, approve: bool, note: str | None, scope: RequestScope | None
) -> SharingRequest:
    """Approve (within the scope asked, possibly narrowed) or deny with a reason. The decision keeps the request
    on file until ``sharing.retention_days`` after it. A refused step is recorded and raised."""
    principal.require("sharing.review")
    row = get_request(work, request_id, "agency")
    try:
        _check_reviewer(work, principal, row)
        note = " ".join((note or "").split()) or None
        if not approve and (note is None or len(note) < 10):
            raise SharingRefused("note", "a denial says why, in at least 10 characters")
        approved = _narrowed(work, row, scope) if approve else None
    except SharingRefused as exc:
        raise refuse_step(work, principal, request_id, "review", exc) from None
    now = utcnow()
    row.status = "approved" if approve else "denied"
    row.reviewed_by, row.reviewed_at, row.review_note = principal.username, now, note
    row.approved_scope = approved.as_json() if approved else None
    row.retain_until = work.settings.today(now) + timedelta(days=work.settings.sharing.retention_days)
    narrowed = approved is not None and scope is not None and approved.as_json() != _narrowed(work, row, None).as_json()
    event = SharingReviewed(
        request_id=row.id, decision=row.status, entered_by=row.entered_by, narrowed=narrowed,
        retain_until=row.retain_until.isoformat(), note=note,
    )  # fmt: skip
    work.by(principal).record(event, case_number=row.case_number)
    return row
