"""JSON routes for the audit log (administrators and auditors): reading it and exporting a period of it are
audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from platekeeper.access.service import SessionState
from platekeeper.audit.export import AuditExport, ExportFormat, event_record
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.oversight import export_audit_log, view_audit_log
from platekeeper.db import Database
from platekeeper.web.deps import DbWork, app_state, requires

__all__ = ["EXPORT_FORMAT", "export_response", "router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])

EXPORT_FORMAT = Query(description="csv (a spreadsheet; formula-like cells get a leading ') or jsonl (JSON Lines)")
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The events of the period, oldest first, every column with the seals; streamed as a file",
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}},
    },
    400: {"description": "A filter broken, no first day, or a period longer than audit.export_max_days"},
}


def export_response(export: AuditExport, database: Database) -> StreamingResponse:
    """The recorded export as a download named for its period, streamed batch by batch."""
    headers = {"content-disposition": f'attachment; filename="{export.filename}"', "cache-control": "no-store"}
    return StreamingResponse(export.chunks(database), media_type=export.media_type, headers=headers)


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
        "events": [event_record(e, result.texts) for e in result.events],
    }


@router.get("/audit/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
def api_audit_export(
    request: Request,
    state: Annotated[SessionState, Depends(requires("audit.export"))],
    work: DbWork,
    filters: Annotated[AuditQuery, Query()],
    format: Annotated[ExportFormat, EXPORT_FORMAT] = "csv",
) -> StreamingResponse:
    """The events of a period (``since`` needed; ``until`` defaults to today; at most ``audit.export_max_days``)
    under the same filters as ``/audit/events``, oldest first, as CSV or JSON Lines. The export is recorded in the
    audit log (``audit.export``) before it is sent."""
    try:
        flt = parse_audit_filter(filters, work.settings.tz)
        export = export_audit_log(work, state.principal.permissions, flt, format)
    except AuditFilterError as exc:
        raise HTTPException(400, str(exc)) from None
    return export_response(export, app_state(request).database)
