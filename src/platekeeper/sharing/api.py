"""JSON routes for sharing (462.7) and Public Records Act requests.

A refused request or step is answered (400 naming the field, 403 for self-approval or a reviewer who is not the
Records Manager or a designee, 409 for a request not in the state the step needs) after its refusal is recorded:
the answer is a normal return, so that record commits.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from platekeeper.access.service import SessionState
from platekeeper.sharing.models import SharingAgency, SharingRequest
from platekeeper.sharing.service import (
    AgencyIn,
    PartnerQuery,
    PraRequestIn,
    RequestScope,
    SharingNotFound,
    SharingRefused,
    SharingRequestIn,
    determine_pra,
    extend_pra,
    fulfil_request,
    get_request,
    list_agencies,
    list_requests,
    open_request,
    partner_search,
    pra_days_left,
    public_summary,
    record_redactions,
    register_counts,
    register_entries,
    register_export,
    review_request,
    save_agency,
    submit_pra,
    submit_request,
)
from platekeeper.web.deps import DbWork, app_state, requires

__all__ = ["agency_json", "fulfil", "refusal", "request_json", "router"]

router = APIRouter(prefix="/api/v1", tags=["sharing"])
AgencyId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The agency's id")]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's id")]
Intake = Annotated[SessionState, Depends(requires("sharing.intake"))]
Reviewer = Annotated[SessionState, Depends(requires("sharing.review"))]
Register = Annotated[SessionState, Depends(requires("sharing.register"))]
Pra = Annotated[SessionState, Depends(requires("pra.manage"))]
Partner = Annotated[SessionState, Depends(requires("sharing.partner_query"))]


class AgencyBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["law_enforcement", "prosecutorial", "other_public", "private"]
    jurisdiction: Literal["california", "other_state", "federal", "none"]
    ori: str | None = Field(None, max_length=9)
    address: str = Field("", max_length=1000)
    contacts: str = Field("", max_length=1000)
    partner_agreement_until: date | None = None
    partner_max_days: int | None = Field(None, ge=1, le=365)


class ScopeBody(BaseModel):
    plates: list[Annotated[str, Field(max_length=16)]] = Field(default_factory=list, max_length=10_000)
    since: datetime
    until: datetime
    camera_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=1000)

    def scope(self) -> RequestScope:
        return RequestScope(tuple(self.plates), self.since, self.until, tuple(self.camera_ids))


class RequestBody(ScopeBody):
    agency_id: int = Field(ge=1, le=2**31 - 1)
    requester_name: str = Field(max_length=200)
    requester_contact: str = Field(max_length=300)
    purpose: str = Field(max_length=64, description="An authorized purpose's code (access.purposes)")
    description: str = Field(max_length=2000)
    case_number: str = Field(max_length=64)
    legal_basis: str = Field(max_length=2000)
    received_on: date
    document_base64: str = Field(max_length=150_000_000, description="The written request: PDF or image, base64")


class PraBody(ScopeBody):
    requester_name: str = Field(max_length=200)
    requester_contact: str = Field(max_length=300)
    description: str = Field(max_length=2000)
    received_on: date
    document_base64: str | None = Field(None, max_length=150_000_000)


class ReviewBody(BaseModel):
    decision: Literal["approve", "deny"]
    note: str | None = Field(None, max_length=2000)
    scope: ScopeBody | None = Field(None, description="A narrower scope to approve (within the one asked)")


class FulfilBody(BaseModel):
    method: Literal["link"] = "link"


class PartnerQueryBody(BaseModel):
    plate: str = Field(max_length=16)
    since: datetime
    until: datetime
    purpose: str = Field(max_length=64, description="An authorized purpose's code (access.purposes)")
    case_number: str = Field(max_length=64, description="The partner agency's case number")
    justification: str = Field(max_length=500)


class ExtendBody(BaseModel):
    reason: str = Field(max_length=2000)


class DeterminationBody(BaseModel):
    determination: Literal["release", "no_records", "exempt"]
    response: str = Field(max_length=4000)


class RedactionsBody(BaseModel):
    decisions: dict[str, Literal["release", "redact"]]


def agency_json(agency: SharingAgency) -> dict[str, Any]:
    keys = ("id", "name", "kind", "jurisdiction", "ori", "address", "contacts", "partner_max_days", "created_by")
    return {key: getattr(agency, key) for key in keys} | {
        "partner_agreement_until": agency.partner_agreement_until.isoformat()
        if agency.partner_agreement_until
        else None
    }


def request_json(row: SharingRequest, days_left: int | None = None) -> dict[str, Any]:
    keys = ("id", "channel", "agency_id", "requester_name", "requester_contact", "purpose", "description",
            "case_number", "legal_basis", "plates", "camera_ids", "document_sha256", "document_type", "entered_by",
            "status", "decisions", "reviewed_by", "review_note", "approved_scope", "pra_extended",
            "pra_extension_reason", "pra_determination", "pra_response", "redactions", "redactions_by")  # fmt: skip
    value = {key: getattr(row, key) for key in keys}
    for key in ("since", "until", "entered_at", "reviewed_at", "received_on", "retain_until", "pra_due_on"):
        when = getattr(row, key)
        value[key] = when.isoformat() if when else None
    value["days_left"] = days_left
    return value


def refusal(exc: SharingRefused) -> JSONResponse:
    status = {"status": 409, "reviewer": 403}.get(exc.field, 400)
    return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=status)


def _document(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SharingRefused("document_base64", "is not base64") from None


@router.get("/sharing/agencies")
def api_agencies(state: Intake, work: DbWork) -> list[dict[str, Any]]:
    """The agency registry: type, jurisdiction, ORI, address, contacts."""
    return [agency_json(a) for a in list_agencies(work)]


@router.post("/sharing/agencies", status_code=201)
def api_add_agency(body: AgencyBody, state: Intake, work: DbWork) -> Any:
    """Add an agency to the registry (audited)."""
    try:
        return agency_json(save_agency(work, state.principal, AgencyIn(**body.model_dump())))
    except SharingRefused as exc:
        return refusal(exc)


@router.put("/sharing/agencies/{agency_id}")
def api_change_agency(agency_id: AgencyId, body: AgencyBody, state: Intake, work: DbWork) -> Any:
    """Change an agency (audited: each field before and after)."""
    try:
        return agency_json(save_agency(work, state.principal, AgencyIn(**body.model_dump()), agency_id))
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        return refusal(exc)


@router.get("/sharing/requests")
def api_requests(state: Intake, work: DbWork) -> list[dict[str, Any]]:
    """Every agency request, newest first, with its status and the rules that fired."""
    return [request_json(r) for r in list_requests(work, "agency")]


@router.post("/sharing/requests", status_code=201)
def api_submit_request(body: RequestBody, request: Request, state: Intake, work: DbWork) -> Any:
    """Enter an agency's written request. The sharing rules run at once: a refused request is kept (status
    ``refused``, each rule named) and never reaches review; otherwise it waits for the Records Manager."""
    try:
        fields = body.model_dump(exclude={"plates", "since", "until", "camera_ids", "document_base64"})
        incoming = SharingRequestIn(**fields, scope=body.scope(), document=_document(body.document_base64) or b"")
        row = submit_request(work, state.principal, incoming, documents=app_state(request).services.documents)
    except SharingRefused as exc:
        return refusal(exc)
    return request_json(row)


@router.get("/sharing/requests/{request_id}")
def api_get_request(request_id: RequestId, state: Intake, work: DbWork) -> dict[str, Any]:
    """One agency request with its rule decisions, review and approved scope."""
    try:
        return request_json(open_request(work, state.principal, request_id, "agency", "api"))
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/sharing/requests/{request_id}/review", responses={403: {"description": "Self-approval"}})
def api_review(request_id: RequestId, body: ReviewBody, state: Reviewer, work: DbWork) -> Any:
    """Approve (optionally narrowing the scope) or deny with a reason; never one's own entry (462.7b)."""
    scope = body.scope.scope() if body.scope else None
    try:
        row = review_request(
            work, state.principal, request_id, approve=body.decision == "approve", note=body.note, scope=scope
        )
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        return refusal(exc)
    return request_json(row)


def fulfil(request: Request, state: SessionState, work: DbWork, request_id: int, channel: str) -> Any:
    """Package the request and issue the recipient's link; the answer names the link once (never stored)."""
    services, settings = app_state(request).services, work.settings
    try:
        get_request(work, request_id, channel)
        done = fulfil_request(
            work, state.principal, request_id, store=services.image_store, signer=services.signing_key,
            destination=settings.data_path(settings.sharing.package_dir) / "outbox",
        )  # fmt: skip
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        return refusal(exc)
    release = done.release
    return {
        "release_id": release.id, "request_id": release.request_id, "recipient": release.recipient,
        "reads": release.reads, "images": release.images, "manifest_sha256": release.manifest_sha256,
        "link": f"{str(request.base_url).rstrip('/')}/share/{done.token}", "link_hours": settings.sharing.link_hours,
    }  # fmt: skip


@router.post("/sharing/requests/{request_id}/fulfil")
def api_fulfil(request_id: RequestId, body: FulfilBody, request: Request, state: Intake, work: DbWork) -> Any:
    """Fulfil an approved request: a signed package of exactly the approved scope within retention, and a
    single-use download link for the recipient, valid ``sharing.link_hours``."""
    return fulfil(request, state, work, request_id, "agency")


@router.get(
    "/sharing/register",
    responses={
        200: {
            "content": {"application/json": {}, "text/csv": {}, "application/x-ndjson": {}},
            "description": "The register (JSON), or the whole of it as CSV or JSON Lines",
        }
    },
)
def api_register(
    state: Register,
    work: DbWork,
    format: Annotated[Literal["json", "csv", "jsonl"], Query(description="json, csv or jsonl")] = "json",
) -> Any:
    """The sharing register: every release (agency sharing and PRA apart), with counts; or the whole of it as
    CSV or JSON Lines. Audited."""
    if format != "json":
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        disposition = f'attachment; filename="sharing-register.{format}"'
        body = register_export(work, state.principal, format)
        return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})
    entries = register_entries(work, state.principal)
    return {"releases": [e.as_json() for e in entries], "counts": register_counts(work)}


@router.get("/sharing/summary")
def api_summary(state: Register, work: DbWork) -> dict[str, Any]:
    """For the public transparency page: counts and the names of the agencies that received data."""
    return public_summary(work)


@router.get("/pra")
def api_pra_list(state: Pra, work: DbWork) -> list[dict[str, Any]]:
    """Every Public Records Act request, newest first, with its deadline and days left."""
    return [request_json(r, pra_days_left(work, r)) for r in list_requests(work, "pra")]


@router.post("/pra", status_code=201)
def api_pra_submit(body: PraBody, request: Request, state: Pra, work: DbWork) -> Any:
    """Record a PRA request for Records; its determination is due 10 calendar days after receipt (the next business
    day when that is a weekend or a holiday in sharing.pra_holidays)."""
    try:
        fields = body.model_dump(include={"requester_name", "requester_contact", "description", "received_on"})
        incoming = PraRequestIn(**fields, scope=body.scope(), document=_document(body.document_base64))
        row = submit_pra(work, state.principal, incoming, documents=app_state(request).services.documents)
    except SharingRefused as exc:
        return refusal(exc)
    return request_json(row, pra_days_left(work, row))


@router.get("/pra/{request_id}")
def api_pra_get(request_id: RequestId, state: Pra, work: DbWork) -> dict[str, Any]:
    """One PRA request: deadline, days left, determination, redactions."""
    try:
        row = open_request(work, state.principal, request_id, "pra", "api")
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return request_json(row, pra_days_left(work, row))


def pra_step(work: DbWork, request_id: int, step: Any) -> Any:
    """Run one PRA step, answering 404, the refusal, or the request."""
    try:
        row = step()
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        return refusal(exc)
    return request_json(row, pra_days_left(work, row))


@router.post("/pra/{request_id}/extend")
def api_pra_extend(request_id: RequestId, body: ExtendBody, state: Pra, work: DbWork) -> Any:
    """Extend the determination once by 14 calendar days (counted from receipt), with a reason."""
    return pra_step(work, request_id, lambda: extend_pra(work, state.principal, request_id, body.reason))


@router.post("/pra/{request_id}/determination")
def api_pra_determine(request_id: RequestId, body: DeterminationBody, state: Pra, work: DbWork) -> Any:
    """Record the determination and the response sent."""
    step = lambda: determine_pra(work, state.principal, request_id, body.determination, body.response)  # noqa: E731
    return pra_step(work, request_id, step)


@router.post("/pra/{request_id}/redactions")
def api_pra_redactions(request_id: RequestId, body: RedactionsBody, state: Pra, work: DbWork) -> Any:
    """Record release or redact for every field of a read (plate, time, camera, coordinates, images)."""
    return pra_step(work, request_id, lambda: record_redactions(work, state.principal, request_id, body.decisions))


@router.post("/pra/{request_id}/release")
def api_pra_release(request_id: RequestId, request: Request, state: Pra, work: DbWork) -> Any:
    """Release the determined records with their redactions: a signed package and a single-use link. It appears
    in the register apart from agency sharing."""
    return fulfil(request, state, work, request_id, "pra")


def document_response(row: SharingRequest, request: Request) -> Response:
    """The request's document, opened from the sealed store."""
    if row.document_sha256 is None:
        raise HTTPException(404, "this request has no document")
    data = app_state(request).services.documents.get(row.document_sha256)
    return Response(data, media_type=row.document_type or "application/octet-stream")


@router.post("/sharing/partner/search", responses={403: {"description": "Partner queries off, or no agreement"}})
def api_partner_search(body: PartnerQueryBody, state: Partner, work: DbWork) -> Any:
    """A partner agency's query (only while ``sharing.partner_queries`` is on): one plate, within the agreement's
    window and retention, under the same sharing rules; logged like a local search."""
    try:
        return {"reads": partner_search(work, state.principal, PartnerQuery(**body.model_dump()))}
    except SharingRefused as exc:
        status = 403 if exc.field in ("partner", "rules") else 400
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=status)
