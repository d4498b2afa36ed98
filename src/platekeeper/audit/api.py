"""JSON route for the audit log (administrators and auditors); reading it is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from platekeeper.access.service import SessionState
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.oversight import view_audit_log
from platekeeper.audit.service import event_fields
from platekeeper.web.deps import DbWork, requires

__all__ = ["event_json", "router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An audit event with every statutory field and its seal, as exported."""
    return {**event_fields(event), "hash": event.hash}


@router.get("/audit/events", responses={400: {"description": "A filter broken; the detail names it"}})
def api_audit_events(
    state: Annotated[SessionState, Depends(requires("audit.view"))],
    work: DbWork,
    filters: Annotated[AuditQuery, Query()],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> dict[str, Any]:
    """Audit events, newest first, filtered by user, action, plate, case number, purpose and dates."""
    try:
        flt = parse_audit_filter(filters, work.settings.tz)
    except AuditFilterError as exc:
        raise HTTPException(400, str(exc)) from None
    result = view_audit_log(work, state.principal.permissions, flt, page)
    return {
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "events": [event_json(e) for e in result.events],
    }
