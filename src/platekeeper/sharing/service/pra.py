"""Public Records Act requests: intake routed to Records, the determination deadline (10 calendar days, once
extendable by 14; see ``deadlines``), the determination and response, and the per-field redaction decisions that
must be recorded before any plate data is released."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from platekeeper.access.principal import Principal
from platekeeper.audit.events import PraDetermined, PraExtended, PraRedactionsRecorded, PraRequestEntered
from platekeeper.audit.work import Work
from platekeeper.db import utcnow
from platekeeper.reads.images import ImageStore
from platekeeper.sharing.models import PRA_DETERMINATIONS, REDACTABLE_FIELDS, SharingRequest
from platekeeper.sharing.service.common import (
    RequestScope,
    SharingRefused,
    check_received_on,
    clean_text,
    refuse_step,
    validate_scope,
)
from platekeeper.sharing.service.deadlines import days_left, pra_due_on
from platekeeper.sharing.service.documents import check_document, store_document
from platekeeper.sharing.service.requests import get_request

__all__ = ["PraRequestIn", "determine_pra", "extend_pra", "pra_days_left", "record_redactions", "submit_pra"]


@dataclass(frozen=True)
class PraRequestIn:
    requester_name: str
    requester_contact: str
    description: str
    scope: RequestScope
    received_on: date
    document: bytes | None = None


def pra_days_left(work: Work, row: SharingRequest) -> int | None:
    """Calendar days to the determination deadline, while one is due."""
    if row.pra_due_on is None or row.status not in ("received", "extended"):
        return None
    return days_left(row.pra_due_on, work.settings.today())


def submit_pra(work: Work, principal: Principal, request: PraRequestIn, *, documents: ImageStore) -> SharingRequest:
    """Record a Public Records Act request for Records, with its determination deadline. Audited."""
    principal.require("pra.manage")
    config = work.settings.sharing
    scope = validate_scope(work.session, work.settings, request.scope)
    received = check_received_on(request.received_on, work.settings.today())
    document = check_document(work.settings, request.document) if request.document else None
    if document is not None:
        store_document(documents, document)
    row = SharingRequest(
        channel="pra", requester_name=clean_text(request.requester_name, "requester_name", 2, 200),
        requester_contact=clean_text(request.requester_contact, "requester_contact", 3, 300),
        description=clean_text(request.description, "description", 10, 2000), plates=list(scope.plates),
        since=scope.since, until=scope.until, camera_ids=list(scope.camera_ids), received_on=received,
        document_sha256=document.sha256 if document else None, document_type=document.media_type if document else None,
        entered_by=principal.username, entered_at=utcnow(), status="received", decisions=[],
        pra_due_on=pra_due_on(received, config.pra_determination_days, config.pra_holidays), pra_extended=False,
    )  # fmt: skip
    work.session.add(row)
    work.session.flush()
    event = PraRequestEntered(
        request_id=row.id, requester=row.requester_name, received_on=received.isoformat(),
        due_on=row.pra_due_on.isoformat() if row.pra_due_on else "", document_sha256=row.document_sha256,
    )  # fmt: skip
    work.by(principal).record(event, case_number=f"PRA-{row.id}")
    return row


def extend_pra(work: Work, principal: Principal, request_id: int, reason: str) -> SharingRequest:
    """Extend the determination once, by ``sharing.pra_extension_days`` counted from receipt, with a reason, while
    the first deadline has not passed (Gov. Code 7922.535: the notice goes out within the first period)."""
    principal.require("pra.manage")
    row = get_request(work, request_id, "pra")
    config = work.settings.sharing
    try:
        if row.status != "received" or row.pra_extended:
            raise SharingRefused("status", f"the request is {row.status}; a determination is extended once, before it")
        if row.pra_due_on is not None and row.pra_due_on < work.settings.today():  # notice goes in the first period
            due = row.pra_due_on.isoformat()
            raise SharingRefused("status", f"the determination was due on {due}; make it now, it cannot be extended")
        reason = clean_text(reason, "reason", 10, 2000)
    except SharingRefused as exc:
        raise refuse_step(work, principal, request_id, "extend", exc) from None
    days = config.pra_determination_days + config.pra_extension_days
    row.pra_due_on = pra_due_on(row.received_on, days, config.pra_holidays)
    row.pra_extended, row.pra_extension_reason, row.status = True, reason, "extended"
    event = PraExtended(request_id=row.id, due_on=row.pra_due_on.isoformat(), reason=reason)
    work.by(principal).record(event, case_number=f"PRA-{row.id}")
    return row


def determine_pra(
    work: Work, principal: Principal, request_id: int, determination: str, response: str
) -> SharingRequest:
    """Record the determination and the response sent: records to release (then redactions and a release), none,
    or exempt (the request closes)."""
    principal.require("pra.manage")
    row = get_request(work, request_id, "pra")
    try:
        if row.status not in ("received", "extended"):
            raise SharingRefused("status", f"the request is {row.status}; it was already determined")
        if determination not in PRA_DETERMINATIONS:
            raise SharingRefused("determination", f"one of {', '.join(PRA_DETERMINATIONS)}")
        response = clean_text(response, "response", 10, 4000)
    except SharingRefused as exc:
        raise refuse_step(work, principal, request_id, "determine", exc) from None
    left = pra_days_left(work, row) or 0
    row.pra_determination, row.pra_response = determination, response
    row.status = "determined" if determination == "release" else "closed"
    row.reviewed_by, row.reviewed_at = principal.username, utcnow()
    row.retain_until = work.settings.today() + timedelta(days=work.settings.sharing.retention_days)
    work.by(principal).record(
        PraDetermined(request_id=row.id, determination=determination, days_left=left), case_number=f"PRA-{row.id}"
    )
    return row


def record_redactions(
    work: Work, principal: Principal, request_id: int, decisions: Mapping[str, str]
) -> SharingRequest:
    """Record, for every field of a read, whether it is released or redacted: required before a PRA release."""
    principal.require("pra.manage")
    row = get_request(work, request_id, "pra")
    try:
        if row.status != "determined":
            raise SharingRefused("status", f"the request is {row.status}; redactions follow a release determination")
        missing = [f for f in REDACTABLE_FIELDS if decisions.get(f) not in ("release", "redact")]
        unknown = sorted(set(decisions) - set(REDACTABLE_FIELDS))
        if missing or unknown:
            what = f"decide release or redact for {', '.join(missing)}" if missing else f"unknown {unknown}"
            raise SharingRefused("redactions", what)
    except SharingRefused as exc:
        raise refuse_step(work, principal, request_id, "redactions", exc) from None
    row.redactions = {f: decisions[f] for f in REDACTABLE_FIELDS}
    row.redactions_by = principal.username
    work.by(principal).record(
        PraRedactionsRecorded(request_id=row.id, decisions=row.redactions), case_number=f"PRA-{row.id}"
    )
    return row
