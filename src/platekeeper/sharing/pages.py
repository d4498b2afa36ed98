"""Sharing pages: agency requests (``/sharing``), the agency registry, the register, Public Records Act requests
(``/pra``) and the recipient's download page (``/share/{token}``, no sign-in, rate limited per address)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from platekeeper.access.service import SessionState
from platekeeper.cameras.service import list_cameras
from platekeeper.sharing.api import document_response
from platekeeper.sharing.models import (
    AGENCY_KINDS,
    JURISDICTIONS,
    PRA_DETERMINATIONS,
    REDACTABLE_FIELDS,
    REQUEST_STATES,
    SharingRequest,
)
from platekeeper.sharing.service import (
    LinkRefused,
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
    open_link,
    open_request,
    peek_link,
    pra_days_left,
    record_redactions,
    register_counts,
    register_entries,
    register_export,
    submit_pra,
    submit_request,
)
from platekeeper.web.deps import (
    PUBLIC,
    DbWork,
    RowId,
    app_state,
    check_csrf,
    client_of,
    rate_limited_page,
    render,
    requires,
)
from platekeeper.web.forms import required_datetime

__all__ = [
    "DONE",
    "FIELD_LABELS",
    "get_request_or_404",
    "labels",
    "open_request_or_404",
    "plates_of",
    "request_page",
    "router",
    "said",
    "scope_of",
    "when",
]

router = APIRouter(include_in_schema=False)
Intake = Annotated[SessionState, Depends(requires("sharing.intake"))]
Register = Annotated[SessionState, Depends(requires("sharing.register"))]
Pra = Annotated[SessionState, Depends(requires("pra.manage"))]
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$", description="The link")]
Text = Annotated[str, Form(max_length=2000)]
SCOPE_FIELDS = ("plates", "since", "until")
DONE = {
    "entered": "Request entered and checked against the sharing rules.",
    "approved": "Request approved: Records may now fulfil it.",
    "denied": "Request denied.",
    "extended": "Determination extended.",
    "determined": "Determination recorded.",
    "redactions": "Redaction decisions recorded.",
    "agency": "Agency saved.",
    "agency_changed": "Agency changed.",
}


def when(value: str, tz: tzinfo, name: str) -> datetime:
    try:
        return required_datetime(value, tz)
    except ValueError as exc:
        raise SharingRefused(name, str(exc)) from None


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SharingRefused(name, "not a date (use YYYY-MM-DD)") from None


def scope_of(form: dict[str, Any], tz: tzinfo) -> RequestScope:
    cameras = []
    for value in form.get("camera_ids", []):
        if not (value.isdigit() and len(value) < 10):
            raise SharingRefused("camera_ids", "choose cameras from the list")
        cameras.append(int(value))
    return RequestScope(
        plates_of(form.get("plates", "")), when(form["since"], tz, "since"), when(form["until"], tz, "until"),
        tuple(cameras),
    )  # fmt: skip


def plates_of(text: str) -> tuple[str, ...]:
    """The plates a form field lists, separated by spaces, commas or semicolons."""
    return tuple(p for p in re.split(r"[\s,;]+", text) if p)


FIELD_LABELS = {
    "agency_id": "Agency", "requester_name": "Requester", "requester_contact": "Their contact",
    "purpose": "Intended purpose", "description": "Description", "case_number": "Case number",
    "legal_basis": "Legal basis", "justification": "Justification", "plates": "Plates", "plate": "Plate",
    "since": "From", "until": "To", "camera_ids": "Cameras", "received_on": "Received on",
    "document": "The written request", "note": "Note", "name": "Name", "ori": "ORI number", "kind": "Type",
    "jurisdiction": "Jurisdiction", "address": "Address", "contacts": "Contacts", "determination": "Determination",
    "response": "Response sent", "reason": "Reason for the extension", "redactions": "Redactions",
    "decision": "Decision", "status": "This request", "reviewer": "Review", "rules": "Sharing rules",
    "partner": "Partner access",
}  # fmt: skip
"""The words a form shows for each field a refusal may name (the API answers with the field's own name)."""
RULE_ACTIONS = {"refuse": "Refused", "warn": "Warning", "allow": "Noted"}


def said(exc: SharingRefused) -> str:
    """A refusal as a page says it: the label the form shows for the field it names, then why."""
    return f"{FIELD_LABELS.get(exc.field, exc.field.replace('_', ' ').capitalize())}: {exc.why}"


def labels(work: DbWork) -> dict[str, Any]:
    """What the sharing pages show in words where a request stores a code: agency type and jurisdiction, the
    purposes, and what each rule did."""
    purposes = {p.code: p.label for p in work.settings.access.purposes}
    return {"kinds": AGENCY_KINDS, "jurisdictions": JURISDICTIONS, "purposes": purposes, "actions": RULE_ACTIONS}


async def _upload(document: UploadFile | None, limit: int) -> bytes:
    if document is None or not document.filename:
        return b""
    return await document.read(limit + 1)


def _list_page(request: Request, state: SessionState, work: DbWork, status: int = 200, **extra: Any) -> Response:
    context = {
        "requests": list_requests(work, "agency"), "agencies": {a.id: a for a in list_agencies(work)},
        "purposes": work.settings.access.purposes, "cameras": list_cameras(work.session), "states": REQUEST_STATES,
        "form": {}, "error": None, "today": work.settings.today().isoformat(), "labels": labels(work), **extra,
    }  # fmt: skip
    return render(request, "sharing.html", context, status)


@router.get("/sharing")
def sharing_page(request: Request, state: Intake, work: DbWork) -> Response:
    """Every agency request with its status and rules, and the form to enter a written request."""
    return _list_page(request, state, work)


@router.post("/sharing/requests")
async def sharing_submit(
    request: Request,
    state: Intake,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    agency_id: Annotated[str, Form(max_length=12)] = "",
    requester_name: Annotated[str, Form(max_length=200)] = "",
    requester_contact: Annotated[str, Form(max_length=300)] = "",
    purpose: Annotated[str, Form(max_length=64)] = "",
    description: Text = "",
    case_number: Annotated[str, Form(max_length=64)] = "",
    legal_basis: Text = "",
    plates: Annotated[str, Form(max_length=20_000)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
    camera_ids: Annotated[list[str], Form(max_length=1000)] = [],  # noqa: B006
    received_on: Annotated[str, Form(max_length=16)] = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Enter an agency's written request with its document; then its page (Post/Redirect/Get)."""
    check_csrf(state, csrf_token)
    form = {k: v for k, v in locals().items() if isinstance(v, str | list) and k != "csrf_token"}
    try:
        if not agency_id.isdigit() or len(agency_id) > 9:
            raise SharingRefused("agency_id", "choose an agency from the registry")
        data = await _upload(document, work.settings.sharing.document_max_bytes)
        incoming = SharingRequestIn(
            agency_id=int(agency_id), requester_name=requester_name, requester_contact=requester_contact,
            purpose=purpose, description=description, case_number=case_number, legal_basis=legal_basis,
            scope=scope_of(form, work.settings.tz), received_on=_day(received_on, "received_on"), document=data,
        )  # fmt: skip
        row = submit_request(work, state.principal, incoming, documents=app_state(request).services.documents)
    except SharingRefused as exc:
        return _list_page(request, state, work, 400, error=said(exc), form=form)
    return RedirectResponse(f"/sharing/requests/{row.id}?done=entered", status_code=303)


def request_page(
    request: Request, state: SessionState, work: DbWork, request_id: int, status: int = 200, **extra: Any
) -> Response:
    """One agency request's page; ``base`` (in ``extra``) is the path it is opened under: ``/sharing/requests`` for
    intake, ``/sharing/review`` for a reviewer (a designee may hold sharing.review alone)."""
    row = open_request_or_404(work, state, request_id, "agency", "page")
    agencies = {a.id: a for a in list_agencies(work)}
    context = {
        "row": row, "agency": agencies.get(row.agency_id or 0), "states": REQUEST_STATES,
        "cameras": {c.id: c.name for c in list_cameras(work.session)},
        "done": DONE.get(request.query_params.get("done", "")), "error": None, "link": None,
        "base": "/sharing/requests", "labels": labels(work), **extra,
    }  # fmt: skip
    return render(request, "sharing_request.html", context, status)


@router.get("/sharing/requests/{request_id}")
def sharingrequest_page(request_id: RowId, request: Request, state: Intake, work: DbWork) -> Response:
    """One request: what was asked, the rules that fired, the review, and the next step."""
    return request_page(request, state, work, request_id)


@router.get("/sharing/requests/{request_id}/document")
def sharing_document(request_id: RowId, request: Request, state: Intake, work: DbWork) -> Response:
    """The written request as it was received (opened from its sealed store)."""
    return document_response(open_request_or_404(work, state, request_id, "agency", "document"), request)


def _fulfil(request: Request, state: SessionState, work: DbWork, request_id: int) -> tuple[str | None, str | None]:
    """(the recipient's link, None) or (None, the refusal)."""
    services, settings = app_state(request).services, work.settings
    try:
        done = fulfil_request(
            work, state.principal, request_id, store=services.image_store, signer=services.signing_key,
            destination=settings.data_path(settings.sharing.package_dir) / "outbox",
        )  # fmt: skip
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        return None, str(exc)
    return f"{str(request.base_url).rstrip('/')}/share/{done.token}", None


@router.post("/sharing/requests/{request_id}/fulfil")
def sharing_fulfil(
    request_id: RowId, request: Request, state: Intake, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Package the approved scope and show the recipient's single-use link (once: only its hash is kept)."""
    check_csrf(state, csrf_token)
    get_request_or_404(work, request_id, "agency")
    link, error = _fulfil(request, state, work, request_id)
    return request_page(request, state, work, request_id, 409 if error else 200, link=link, error=error)


def get_request_or_404(work: DbWork, request_id: int, channel: str) -> SharingRequest:
    try:
        return get_request(work, request_id, channel)
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def open_request_or_404(work: DbWork, state: SessionState, request_id: int, channel: str, what: str) -> SharingRequest:
    """The request, its opening recorded (``sharing.open``: its page or its written request), or 404."""
    try:
        return open_request(work, state.principal, request_id, channel, what)
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/sharing/register")
def register_page(
    request: Request,
    state: Register,
    work: DbWork,
    format: Annotated[str, Query(pattern="^(html|csv|jsonl)$")] = "html",
) -> Response:
    """Who received what, when, under which request, approved by whom, how many reads: agency sharing and PRA
    releases apart, with the counts; CSV and JSON Lines for the audits."""
    if format != "html":
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        disposition = f'attachment; filename="sharing-register.{format}"'
        body = register_export(work, state.principal, format)
        return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})
    entries = register_entries(work, state.principal)
    context = {"entries": entries, "counts": register_counts(work), "states": REQUEST_STATES}
    return render(request, "sharing_register.html", context)


def _pra_list(request: Request, work: DbWork, status: int = 200, **extra: Any) -> Response:
    rows = list_requests(work, "pra")
    context = {"rows": [(r, pra_days_left(work, r)) for r in rows], "states": REQUEST_STATES, "form": {},
               "error": None, "today": work.settings.today().isoformat(), **extra}  # fmt: skip
    return render(request, "pra.html", context, status)


@router.get("/pra")
def pra_page(request: Request, state: Pra, work: DbWork) -> Response:
    """Public Records Act requests with their deadlines and days left, and the intake form."""
    return _pra_list(request, work)


@router.post("/pra")
async def pra_submit(
    request: Request,
    state: Pra,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    requester_name: Annotated[str, Form(max_length=200)] = "",
    requester_contact: Annotated[str, Form(max_length=300)] = "",
    description: Text = "",
    plates: Annotated[str, Form(max_length=20_000)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
    received_on: Annotated[str, Form(max_length=16)] = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record a PRA request for Records; then its page."""
    check_csrf(state, csrf_token)
    form = {k: v for k, v in locals().items() if isinstance(v, str) and k != "csrf_token"}
    try:
        data = await _upload(document, work.settings.sharing.document_max_bytes)
        incoming = PraRequestIn(
            requester_name=requester_name, requester_contact=requester_contact, description=description,
            scope=scope_of(form, work.settings.tz), received_on=_day(received_on, "received_on"), document=data or None,
        )  # fmt: skip
        row = submit_pra(work, state.principal, incoming, documents=app_state(request).services.documents)
    except SharingRefused as exc:
        return _pra_list(request, work, 400, error=said(exc), form=form)
    return RedirectResponse(f"/pra/{row.id}", status_code=303)


def _pra_page(
    request: Request, state: SessionState, work: DbWork, request_id: int, status: int = 200, **extra: Any
) -> Response:
    row = open_request_or_404(work, state, request_id, "pra", "page")
    context = {"row": row, "days_left": pra_days_left(work, row), "states": REQUEST_STATES,
               "determinations": PRA_DETERMINATIONS, "fields": REDACTABLE_FIELDS, "error": None, "link": None,
               "done": DONE.get(request.query_params.get("done", "")), **extra}  # fmt: skip
    return render(request, "pra_request.html", context, status)


@router.get("/pra/{request_id}")
def prarequest_page(request_id: RowId, request: Request, state: Pra, work: DbWork) -> Response:
    """One PRA request: its deadline and days left, the determination, the redactions and the release."""
    return _pra_page(request, state, work, request_id)


def _pra_step(
    request: Request, state: SessionState, work: DbWork, request_id: int, step: Callable[[], Any], done: str
) -> Response:
    get_request_or_404(work, request_id, "pra")
    try:
        step()
    except SharingRefused as exc:
        return _pra_page(request, state, work, request_id, 409 if exc.field == "status" else 400, error=said(exc))
    return RedirectResponse(f"/pra/{request_id}?done={done}", 303)


@router.post("/pra/{request_id}/extend")
def pra_extend(
    request_id: RowId, request: Request, state: Pra, work: DbWork, csrf_token: Annotated[str, Form()] = "",
    reason: Text = "",
) -> Response:  # fmt: skip
    """Extend the determination once (14 calendar days more, counted from receipt)."""
    check_csrf(state, csrf_token)
    step = lambda: extend_pra(work, state.principal, request_id, reason)  # noqa: E731
    return _pra_step(request, state, work, request_id, step, "extended")


@router.post("/pra/{request_id}/determination")
def pra_determine(
    request_id: RowId, request: Request, state: Pra, work: DbWork, csrf_token: Annotated[str, Form()] = "",
    determination: Annotated[str, Form(max_length=16)] = "", response: Annotated[str, Form(max_length=4000)] = "",
) -> Response:  # fmt: skip
    """Record the determination and the response sent."""
    check_csrf(state, csrf_token)
    step = lambda: determine_pra(work, state.principal, request_id, determination, response)  # noqa: E731
    return _pra_step(request, state, work, request_id, step, "determined")


@router.post("/pra/{request_id}/redactions")
async def pra_redactions(request_id: RowId, request: Request, state: Pra, work: DbWork) -> Response:
    """Record release or redact for every field of a read."""
    form = await request.form()
    check_csrf(state, str(form.get("csrf_token", "")))
    decisions = {f: str(form.get(f, ""))[:16] for f in REDACTABLE_FIELDS}
    step = lambda: record_redactions(work, state.principal, request_id, decisions)  # noqa: E731
    return _pra_step(request, state, work, request_id, step, "redactions")


@router.post("/pra/{request_id}/release")
def pra_release(
    request_id: RowId, request: Request, state: Pra, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Release the records with their redactions and show the requester's single-use link once."""
    check_csrf(state, csrf_token)
    get_request_or_404(work, request_id, "pra")
    link, error = _fulfil(request, state, work, request_id)
    return _pra_page(request, state, work, request_id, 409 if error else 200, link=link, error=error)


def _limited(request: Request) -> Response | None:
    refusal = app_state(request).rate_limits.hit(("share_download_per_address", client_of(request) or "unknown"))
    return rate_limited_page(request, refusal) if refusal else None


@router.get("/share/{token}", dependencies=[Depends(PUBLIC)])
def share_page(token: Token, request: Request, work: DbWork) -> Response:
    """The recipient's page: what the link holds and until when; downloading (a POST) uses it."""
    if (limited := _limited(request)) is not None:
        return limited
    try:
        link, release = peek_link(work, token)
    except LinkRefused as exc:
        return render(request, "share.html", {"error": exc.why, "release": None, "link": None}, exc.status)
    return render(request, "share.html", {"error": None, "release": release, "link": link, "token": token})


@router.post("/share/{token}", dependencies=[Depends(PUBLIC)])
def share_download(token: Token, request: Request, work: DbWork) -> Response:
    """Download the package once; the link is used up, and the download is recorded with the address."""
    if (limited := _limited(request)) is not None:
        return limited
    try:
        download = open_link(work, token, client_of(request) or "unknown")
    except LinkRefused as exc:
        return render(request, "share.html", {"error": exc.why, "release": None, "link": None}, exc.status)
    disposition = f'attachment; filename="{download.name}"'
    return Response(download.data, media_type="application/zip", headers={"Content-Disposition": disposition})
