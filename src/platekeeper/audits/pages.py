"""The system audit pages (462.6(c)): ``/audits`` (the plan, the audits, the form to schedule one) and
``/audits/{id}`` (its state, the next step, its findings, the sample with a review form per search), and the
report (``/audits/{id}/report``, HTML to read or print, or PDF)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from platekeeper.access.service import SessionState
from platekeeper.audits.api import report_response
from platekeeper.audits.models import AUDIT_STATES, RESOLUTIONS, SECTIONS, SEVERITIES
from platekeeper.audits.service import (
    AuditNotFound,
    AuditRefused,
    approve_audit,
    audit_due,
    audit_report,
    close_audit,
    finding_counts,
    list_audits,
    record_findings,
    review_item,
    run_audit,
    schedule_audit,
)
from platekeeper.web.deps import DbWork, RowId, app_state, check_csrf, render, requires
from platekeeper.web.forms import required_datetime

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Viewer = Annotated[SessionState, Depends(requires("audits.view"))]
Performer = Annotated[SessionState, Depends(requires("audits.perform"))]
Approver = Annotated[SessionState, Depends(requires("audits.approve"))]
DONE = {
    "scheduled": "Audit scheduled. Run it once its period has ended.",
    "run": "Checks run, chain verified, sample drawn: review each sampled search below.",
    "reviewed": "Review recorded.",
    "findings": "Findings recorded: the audit now waits for approval by someone else.",
    "approved": "Audit approved.",
    "closed": "Audit closed; its records are kept for the plan's record period.",
}


def _list_page(request: Request, work: DbWork, status: int = 200, **extra: Any) -> Response:
    last, overdue = audit_due(work.session, work.settings)
    audits = list_audits(work.session)
    context = {
        "audits": audits,
        "findings": finding_counts(work.session),
        "states": AUDIT_STATES,
        "plan": work.settings.audits,
        "last": last,
        "overdue": overdue,
        "form": {},
        "error": None,
        "error_field": None,
        **extra,
    }
    return render(request, "system_audits.html", context, status)


@router.get("/audits")
def audits_page(request: Request, state: Viewer, work: DbWork) -> Response:
    """The audit plan, every audit with its state, and the form to schedule one."""
    return _list_page(request, work)


@router.post("/audits")
def audits_schedule(
    request: Request,
    state: Performer,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    period_from: Annotated[str, Form(max_length=32)] = "",
    period_to: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Schedule an audit of a period (agency time); then its page."""
    check_csrf(state, csrf_token)
    form = {"period_from": period_from, "period_to": period_to}
    try:
        since = _when(period_from, work, "period_from")
        until = _when(period_to, work, "period_to")
        audit = schedule_audit(work, state.principal, since, until)
    except AuditRefused as exc:
        return _list_page(request, work, exc.status, error=str(exc), error_field=exc.field, form=form)
    return RedirectResponse(f"/audits/{audit.id}?done=scheduled", 303)


def _when(value: str, work: DbWork, name: str) -> datetime:
    try:
        return required_datetime(value, work.settings.tz)
    except ValueError as exc:
        raise AuditRefused(name, str(exc)) from None


def _audit_page(
    request: Request, state: SessionState, work: DbWork, audit_id: int, status: int = 200, **extra: Any
) -> Response:
    """The audit's page, read through the report's service call: recorded as read (``audits.report``, ``page``)."""
    try:
        report = audit_report(work, state.principal, audit_id, "page")
    except AuditNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    audit, sample = report.audit, [(row.item, row.access) for row in report.sample]
    context = {
        "audit": audit,
        "findings": report.findings,
        "text": report.text,
        "sample": sample,
        "states": AUDIT_STATES,
        "sections": SECTIONS,
        "severities": SEVERITIES,
        "resolutions": RESOLUTIONS,
        "min_referral": work.settings.audits.referral_note_min_length,
        "done": DONE.get(request.query_params.get("done", "")),
        "error": None,
        "error_field": None,
        "error_item": None,
        **extra,
    }
    return render(request, "system_audit.html", context, status)


@router.get("/audits/{audit_id}")
def audit_page(audit_id: RowId, request: Request, state: Viewer, work: DbWork) -> Response:
    """One audit: its state and next step, its findings, and its sample with a review form per search."""
    return _audit_page(request, state, work, audit_id)


def _step(
    request: Request,
    state: SessionState,
    work: DbWork,
    audit_id: int,
    step: Callable[[], object],
    done: str,
    item: int | None = None,
) -> Response:
    """Take a step, then show the audit (Post/Redirect/Get), or the refusal on its page naming the field."""
    try:
        step()
    except AuditNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except AuditRefused as exc:
        return _audit_page(
            request, state, work, audit_id, exc.status, error=str(exc), error_field=exc.field, error_item=item
        )
    anchor = f"#item-{item}" if item else ""
    return RedirectResponse(f"/audits/{audit_id}?done={done}{anchor}", 303)


@router.post("/audits/{audit_id}/run")
def audit_run(
    audit_id: RowId, request: Request, state: Performer, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Run the checks, verify the chain and draw the sample."""
    check_csrf(state, csrf_token)
    signer = app_state(request).signing_key
    return _step(request, state, work, audit_id, partial(run_audit, work, state.principal, audit_id, signer), "run")


@router.post("/audits/{audit_id}/sample/{position}")
def audit_review(
    audit_id: RowId,
    position: RowId,
    request: Request,
    state: Performer,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    finding: Annotated[str, Form(max_length=2000)] = "",
    resolution: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Record one sampled search's finding and resolution."""
    check_csrf(state, csrf_token)
    step = partial(review_item, work, state.principal, audit_id, position, finding=finding, resolution=resolution)
    return _step(request, state, work, audit_id, step, "reviewed", item=position)


@router.post("/audits/{audit_id}/findings")
def audit_record_findings(
    audit_id: RowId, request: Request, state: Performer, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Record the findings once every sampled search is reviewed."""
    check_csrf(state, csrf_token)
    return _step(request, state, work, audit_id, partial(record_findings, work, state.principal, audit_id), "findings")


@router.post("/audits/{audit_id}/approve")
def audit_approve(
    audit_id: RowId,
    request: Request,
    state: Approver,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve the findings (never one's own audit)."""
    check_csrf(state, csrf_token)
    return _step(
        request, state, work, audit_id, partial(approve_audit, work, state.principal, audit_id, note), "approved"
    )


@router.post("/audits/{audit_id}/close")
def audit_close(
    audit_id: RowId, request: Request, state: Approver, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Close an approved audit."""
    check_csrf(state, csrf_token)
    return _step(request, state, work, audit_id, partial(close_audit, work, state.principal, audit_id), "closed")


@router.get("/audits/{audit_id}/report")
def audit_report_page(
    audit_id: RowId,
    state: Viewer,
    work: DbWork,
    format: Annotated[Literal["html", "pdf"], Query()] = "html",
) -> Response:
    """The report to read and print, or its PDF."""
    response = report_response(audit_id, state, work, format)
    if response.status_code == 404:
        raise HTTPException(404, f"no system audit with id {audit_id}")
    return response
