"""JSON routes for the system audits (462.6(c)): schedule, run, review the sample, record the findings, approve,
close, and the report (JSON, HTML or PDF).

A refused step is answered (400 naming the field, 403 for approving one's own audit or reviewing one's own search,
404 for no such audit, 409 for a step out of order) after its refusal is recorded: the answer is a normal return,
so that record commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from platekeeper.access.service import SessionState
from platekeeper.audits.documents import report_html, report_pdf
from platekeeper.audits.models import SystemAudit
from platekeeper.audits.service import (
    AuditNotFound,
    AuditRefused,
    approve_audit,
    audit_report,
    close_audit,
    finding_counts,
    findings_of,
    list_audits,
    record_findings,
    report_json,
    review_item,
    run_audit,
    schedule_audit,
)
from platekeeper.web.deps import DbWork, app_state, requires
from platekeeper.web.transport import document_response

__all__ = ["audit_json", "audit_step", "report_response", "router"]

router = APIRouter(prefix="/api/v1", tags=["audits"])
Viewer = Annotated[SessionState, Depends(requires("audits.view"))]
Performer = Annotated[SessionState, Depends(requires("audits.perform"))]
Approver = Annotated[SessionState, Depends(requires("audits.approve"))]
AuditId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The system audit's id")]
Position = Annotated[int, Path(ge=1, le=100_000, description="The sample item's number (1 to N, as drawn)")]
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A value breaks a rule; the field is named"},
    403: {"description": "Approving one's own audit, or reviewing one's own search"},
    404: {"description": "No such audit or sample item"},
    409: {"description": "The audit is not in the state this step needs"},
}


class ScheduleIn(BaseModel):
    period_from: datetime = Field(description="Start of the period audited (with its time zone)")
    period_to: datetime = Field(description="End of the period audited, exclusive")


class ReviewIn(BaseModel):
    finding: str = Field(max_length=2000, description="What the purpose, case number and justification show")
    resolution: Literal["supported", "not_supported", "referred"]


class ApprovalIn(BaseModel):
    note: str = Field(max_length=2000, description="What the approver checked")


def audit_json(audit: SystemAudit, findings: int | None = None) -> dict[str, Any]:
    """An audit in a list: its period, state, who ran and approved it."""
    return {
        "id": audit.id,
        "status": audit.status,
        "period_from": audit.period_from.isoformat(),
        "period_to": audit.period_to.isoformat(),
        "performed_by": audit.performed_by,
        "approved_by": audit.approved_by,
        "approved_at": audit.approved_at.isoformat() if audit.approved_at else None,
        "findings": findings,
    }


def audit_step(step: Callable[[], Any]) -> Any:
    """Run a step; a refusal (already recorded) or a missing audit as a JSON answer."""
    try:
        return step()
    except AuditNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except AuditRefused as exc:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=exc.status)


@router.get("/audits")
def api_list_audits(state: Viewer, work: DbWork) -> dict[str, Any]:
    """The system audits, newest period first."""
    audits = list_audits(work.session)
    counts = finding_counts(work.session)
    return {"audits": [audit_json(a, counts.get(a.id, 0)) for a in audits]}


@router.post("/audits", status_code=201, responses=REFUSALS)
def api_schedule(body: ScheduleIn, state: Performer, work: DbWork) -> Any:
    """Schedule an audit of a period."""
    done = audit_step(partial(schedule_audit, work, state.principal, body.period_from, body.period_to))
    return done if isinstance(done, Response) else JSONResponse(audit_json(done), status_code=201)


@router.post("/audits/{audit_id}/run", responses=REFUSALS)
def api_run(audit_id: AuditId, request: Request, state: Performer, work: DbWork) -> Any:
    """Run the automatic checks, verify the audit chain and draw the sample (once, after the period ends)."""
    signer = app_state(request).signing_key
    done = audit_step(partial(run_audit, work, state.principal, audit_id, signer))
    return done if isinstance(done, Response) else audit_json(done, len(findings_of(work.session, done.id)))


@router.post("/audits/{audit_id}/sample/{position}", responses=REFUSALS)
def api_review(audit_id: AuditId, position: Position, body: ReviewIn, state: Performer, work: DbWork) -> Any:
    """Record the finding and resolution of one sampled search (``referred`` tells the user's supervisors)."""
    step = partial(
        review_item, work, state.principal, audit_id, position, finding=body.finding, resolution=body.resolution
    )
    done = audit_step(step)
    if isinstance(done, Response):
        return done
    return {"position": done.position, "resolution": done.resolution, "notice_id": done.notice_id}


@router.post("/audits/{audit_id}/findings", responses=REFUSALS)
def api_record_findings(audit_id: AuditId, state: Performer, work: DbWork) -> Any:
    """Record the findings: every sampled search reviewed; the audit then waits for approval."""
    done = audit_step(partial(record_findings, work, state.principal, audit_id))
    return done if isinstance(done, Response) else audit_json(done)


@router.post("/audits/{audit_id}/approve", responses=REFUSALS)
def api_approve(audit_id: AuditId, body: ApprovalIn, state: Approver, work: DbWork) -> Any:
    """Approve the recorded findings; never by the person who ran the audit or reviewed its sample."""
    done = audit_step(partial(approve_audit, work, state.principal, audit_id, body.note))
    return done if isinstance(done, Response) else audit_json(done)


@router.post("/audits/{audit_id}/close", responses=REFUSALS)
def api_close(audit_id: AuditId, state: Approver, work: DbWork) -> Any:
    """Close an approved audit; its records are kept for the plan's record period."""
    done = audit_step(partial(close_audit, work, state.principal, audit_id))
    return done if isinstance(done, Response) else audit_json(done)


def report_response(audit_id: int, state: SessionState, work: DbWork, fmt: str) -> Response:
    """The report as JSON, a self-contained HTML page, or a PDF download."""
    try:
        report = audit_report(work, state.principal, audit_id, fmt)
    except AuditNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if fmt == "pdf":
        headers = {"Content-Disposition": f'attachment; filename="system-audit-{audit_id}.pdf"'}
        return Response(report_pdf(report, work.settings), media_type="application/pdf", headers=headers)
    if fmt == "html":
        return document_response(report_html(report, work.settings))
    return JSONResponse(report_json(report))


@router.get(
    "/audits/{audit_id}",
    responses={
        200: {
            "content": {"application/json": {}, "text/html": {}, "application/pdf": {}},
            "description": "The audit (JSON), or its report as HTML or PDF",
        },
        404: {"description": "No such audit"},
    },
)
def api_report(
    audit_id: AuditId,
    state: Viewer,
    work: DbWork,
    format: Annotated[Literal["json", "html", "pdf"], Query(description="The report's format")] = "json",
) -> Response:
    """One audit with its figures, findings and sample (JSON), or its report as HTML or PDF."""
    return report_response(audit_id, state, work, format)
