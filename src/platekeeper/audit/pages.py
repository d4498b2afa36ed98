"""The audit log page: filter by user, action, plate, case number, purpose and date; export the filtered period;
verify the chain. Viewing and exporting it are audited."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response

from platekeeper.access.principal import Principal
from platekeeper.access.service import SessionState
from platekeeper.audit.api import EXPORT_FORMAT, export_response
from platekeeper.audit.events import labelled_details
from platekeeper.audit.export import ExportFormat
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.oversight import export_audit_log, view_audit_log
from platekeeper.audit.service import AUDIT_ACTIONS
from platekeeper.audit.work import Work
from platekeeper.guards.verification import verify_and_notify
from platekeeper.web.deps import DbWork, app_state, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _page_context(work: Work, principal: Principal, filters: AuditQuery) -> dict[str, Any]:
    """What the audit page shows besides the events: the filters, the choices, and links exporting these filters."""
    exports = {fmt: "/audit/export?" + urlencode({**filters.params(), "format": fmt}) for fmt in ("csv", "jsonl")}
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
) -> Response:
    """The page's filters exported as a file (its CSV and JSON Lines links); recorded in the audit log. A period
    that cannot be exported shows the page again with the reason."""
    try:
        flt = parse_audit_filter(filters, work.settings.tz)
        export = export_audit_log(work, state.principal.permissions, flt, format)
    except AuditFilterError as exc:
        context = _page_context(work, state.principal, filters)
        return render(request, "audit.html", {**context, "error": str(exc)}, 400)
    return export_response(export, app_state(request).database)


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
