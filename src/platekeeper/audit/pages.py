"""The audit log page: filter by user, action, plate, case number, purpose and date; export the filtered period
(alone, or in a ZIP with the proof that it is complete); verify the chain; reveal one masked plate for a stated
reason. Viewing, exporting, verifying and revealing are audited."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response

from platekeeper.access.principal import Principal
from platekeeper.access.service import SessionState
from platekeeper.audit.api import EXPORT_FORMAT, EXPORT_PROOF, prepared_export
from platekeeper.audit.events import labelled_details
from platekeeper.audit.export import ExportFormat
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.oversight import masks_plates, view_audit_log
from platekeeper.audit.reveal import RevealNotFound, RevealRefused, record_reveal_refusal, reveal_plate
from platekeeper.audit.service import AUDIT_ACTIONS
from platekeeper.audit.work import Work
from platekeeper.guards.verification import verify_and_notify
from platekeeper.web.deps import DbWork, app_state, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _page_context(work: Work, principal: Principal, filters: AuditQuery) -> dict[str, Any]:
    """What the audit page shows besides the events: the filters, the choices, and links exporting these filters."""
    exports = {
        f"{fmt}{'_proof' if proof else ''}": "/audit/export?"
        + urlencode({**filters.params(), "format": fmt, **({"proof": "true"} if proof else {})})
        for fmt in ("csv", "jsonl")
        for proof in (False, True)
    }
    return {
        "form": filters,
        "actions": AUDIT_ACTIONS,
        "purposes": work.settings.access.purposes,
        "labelled": labelled_details,
        "exports": exports if principal.can("audit.export") else None,
        "export_max_days": work.settings.audit.export_max_days,
        "result": None,
        "error": None,
        "verification": None,
        "masked": masks_plates(principal.permissions),
        "reason_min": work.settings.access.justification_min_length,
    }


@router.get("/audit")
def audit_page(
    request: Request,
    state: Annotated[SessionState, Depends(requires("audit.view"))],
    work: DbWork,
    filters: Annotated[AuditQuery, Query()],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The audit log, newest first."""
    context = _page_context(work, state.principal, filters)
    try:
        flt = parse_audit_filter(filters, work.settings.tz)
    except AuditFilterError as exc:
        return render(request, "audit.html", {**context, "error": str(exc)}, 400)
    result = view_audit_log(work, state.principal.permissions, flt, page)
    query = filters.params()
    links = {
        "prev": "/audit?" + urlencode({**query, "page": page - 1}) if page > 1 else None,
        "next": "/audit?" + urlencode({**query, "page": page + 1}) if page < result.pages else None,
    }
    return render(request, "audit.html", {**context, "result": result, "links": links})


@router.get("/audit/export")
def audit_export(
    request: Request,
    state: Annotated[SessionState, Depends(requires("audit.export"))],
    work: DbWork,
    filters: Annotated[AuditQuery, Query()],
    format: Annotated[ExportFormat, EXPORT_FORMAT] = "csv",
    proof: Annotated[bool, EXPORT_PROOF] = False,
) -> Response:
    """The page's filters exported as a file (its CSV and JSON Lines links), or with its proof as a ZIP; recorded
    in the audit log. A period that cannot be exported shows the page again with the reason."""
    try:
        return prepared_export(request, work, state, filters, format, proof)
    except AuditFilterError as exc:
        context = _page_context(work, state.principal, filters)
        return render(request, "audit.html", {**context, "error": str(exc)}, 400)


@router.post("/audit/verify")
def audit_verify(
    request: Request,
    state: Annotated[SessionState, Depends(requires("audit.view"))],
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Walk the whole chain and show whether it is intact, or the first bad event; a failure raises the breach
    notice the scheduled verification raises."""
    check_csrf(state, csrf_token)
    verification, _ = verify_and_notify(work, app_state(request).signing_key, "page")
    return render(request, "audit_verify.html", {"verification": verification})


@router.post("/audit/events/{seq}/reveal")
def audit_reveal(
    request: Request,
    seq: Annotated[int, Path(ge=1, le=2**62)],
    state: Annotated[SessionState, Depends(requires("audit.reveal"))],
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    field: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Reveal one masked plate of one event for the reason stated in its small form: recorded, then shown. A
    refused reveal shows the form again naming the field (the refusal recorded)."""
    check_csrf(state, csrf_token)
    context = {"seq": seq, "field": field, "reason": reason, "shown": None, "error": None, "error_field": None}
    try:
        shown = reveal_plate(work, state.principal.permissions, seq, field, reason)
    except (RevealNotFound, RevealRefused) as exc:
        record_reveal_refusal(work, seq, field, reason, exc)
        status, problem = (404, "seq") if isinstance(exc, RevealNotFound) else (exc.status, exc.field)
        return render(request, "audit_reveal.html", {**context, "error": str(exc), "error_field": problem}, status)
    return render(request, "audit_reveal.html", {**context, "shown": shown})
