"""JSON routes for the audit log (administrators and auditors): reading it and exporting a period of it are
audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from platekeeper.access.service import SessionState
from platekeeper.audit.export import AuditExport, ExportFormat, event_record
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.oversight import export_audit_log, view_audit_log
from platekeeper.audit.proof import ProofPlan, bundle_chunks, bundle_name, plan_proof
from platekeeper.audit.reveal import RevealNotFound, RevealRefused, record_reveal_refusal, reveal_plate
from platekeeper.audit.work import Work
from platekeeper.web.deps import DbWork, app_state, requires

__all__ = ["EXPORT_FORMAT", "EXPORT_PROOF", "prepared_export", "router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])

EXPORT_FORMAT = Query(description="csv (a spreadsheet; formula-like cells get a leading ') or jsonl (JSON Lines)")
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The events of the period, oldest first, every column with the seals; streamed as a file",
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}},
    },
    400: {"description": "A filter broken, no first day, or a period longer than audit.export_max_days"},
}
EXPORT_RESPONSES[200]["content"]["application/zip"] = {"schema": {"type": "string", "format": "binary"}}
EXPORT_PROOF = Query(
    description="true: a ZIP of the file, the seals of every event over the period and the signed checkpoint that "
    "prove it complete, and a signed manifest (check it with `platekeeper audit check-export`)",
)


def _download(chunks: Iterator[Any], media_type: str, filename: str) -> StreamingResponse:
    headers = {"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


def export_response(request: Request, export: AuditExport, plan: ProofPlan | None, by: str) -> StreamingResponse:
    """The recorded export as a download named for its period, streamed batch by batch (with its proof, a ZIP)."""
    app = app_state(request)
    if plan is None:
        return _download(export.chunks(app.database), export.media_type, export.filename)
    chunks = bundle_chunks(export, plan, app.signing_key, app.database, by)
    return _download(chunks, "application/zip", bundle_name(export))


def prepared_export(
    request: Request, work: Work, state: SessionState, filters: AuditQuery, fmt: ExportFormat, proof: bool
) -> StreamingResponse:
    """Record the export (and sign its checkpoint when it carries its proof), then stream it; a filter that cannot
    be exported raises :class:`AuditFilterError`, nothing recorded."""
    flt = parse_audit_filter(filters, work.settings.tz)
    export = export_audit_log(work, state.principal.permissions, flt, fmt, proof=proof)
    plan = plan_proof(work, app_state(request).signing_key, export) if proof else None
    return export_response(request, export, plan, state.principal.username)


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
    proof: Annotated[bool, EXPORT_PROOF] = False,
) -> StreamingResponse:
    """The events of a period (``since`` needed; ``until`` defaults to today; at most ``audit.export_max_days``)
    under the same filters as ``/audit/events`` (a user among them), oldest first, as CSV or JSON Lines; with
    ``proof``, in a ZIP with the signed checkpoint that proves it complete. Plates are masked for a role without
    plate data. The export is recorded in the audit log (``audit.export``) before it is sent."""
    try:
        return prepared_export(request, work, state, filters, format, proof)
    except AuditFilterError as exc:
        raise HTTPException(400, str(exc)) from None


class RevealIn(BaseModel):
    field: str = Field(max_length=64, description="The plate field of the event to reveal (e.g. plate, query.plate)")
    reason: str = Field(max_length=2000, description="Why the plate is needed, as a search's justification is said")


@router.post(
    "/audit/events/{seq}/reveal",
    responses={
        400: {"description": "The reason or the field is not acceptable; problems names it"},
        404: {"description": "No such event"},
        409: {"description": "The plate's text was forgotten (audit.plate_detail_days)"},
    },
)
def api_audit_reveal(
    seq: Annotated[int, Path(ge=1, le=2**62, description="The audit event's number")],
    body: RevealIn,
    state: Annotated[SessionState, Depends(requires("audit.reveal"))],
    work: DbWork,
) -> Response:
    """One masked plate of one event, for a stated reason: recorded (``audit.reveal_plate``) before it is shown."""
    try:
        shown = reveal_plate(work, state.principal.permissions, seq, body.field, body.reason)
    except RevealNotFound as exc:
        record_reveal_refusal(work, seq, body.field, body.reason, exc)
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except RevealRefused as exc:
        record_reveal_refusal(work, seq, body.field, body.reason, exc)
        return JSONResponse({"detail": str(exc), "problems": {exc.field: exc.why}}, status_code=exc.status)
    return JSONResponse(
        {"seq": shown.seq, "action": shown.action, "field": shown.field, "plate": shown.plate,
         "reveal_seq": shown.reveal_seq}
    )  # fmt: skip
