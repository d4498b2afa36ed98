"""The audit log page: filter by user, action, plate, case number, purpose and date; verify the chain. Viewing it
is audited."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response

from platekeeper.access.service import SessionState
from platekeeper.audit.checkpoints import anchor_check
from platekeeper.audit.events import labelled_details
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.oversight import verify_and_record, view_audit_log
from platekeeper.audit.service import AUDIT_ACTIONS
from platekeeper.web.deps import DbWork, app_state, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(
    request: Request,
    state: Annotated[SessionState, Depends(requires("audit.view"))],
    work: DbWork,
    filters: Annotated[AuditQuery, Query()],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The audit log, newest first."""
    context = {
        "form": filters,
        "actions": AUDIT_ACTIONS,
        "purposes": work.settings.access.purposes,
        "labelled": labelled_details,
        "result": None,
        "error": None,
        "verification": None,
    }
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


@router.post("/audit/verify")
def audit_verify(
    request: Request,
    state: Annotated[SessionState, Depends(requires("audit.view"))],
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Walk the whole chain and show whether it is intact, or the first bad event."""
    check_csrf(state, csrf_token)
    check = anchor_check(work.settings, app_state(request).signing_key)
    verification = verify_and_record(work, check)
    return render(request, "audit_verify.html", {"verification": verification})
