"""Retention pages: the figures and purge certificates (``/retention``), and the legal holds (``/holds``)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from platekeeper.access.service import SessionState
from platekeeper.cameras.service import list_cameras
from platekeeper.retention.api import api_certificate, evidence_download
from platekeeper.retention.documents import certificate_html
from platekeeper.retention.models import HOLD_REASONS, HOLD_SCOPES
from platekeeper.retention.service import (
    COUNT_KINDS,
    HoldNotFound,
    HoldRefused,
    HoldRequest,
    RunNotFound,
    certificate_of,
    decide_hold,
    get_hold,
    list_holds,
    list_runs,
    release_hold,
    request_hold,
    retention_figures,
)
from platekeeper.web.deps import DbWork, RowId, check_csrf, render, requires
from platekeeper.web.forms import local_datetime
from platekeeper.web.transport import document_response

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Requester = Annotated[SessionState, Depends(requires("holds.request"))]
Approver = Annotated[SessionState, Depends(requires("holds.approve"))]
Viewer = Annotated[SessionState, Depends(requires("retention.view"))]
HOLD_FIELDS = ("case_number", "reason", "description", "scope", "plate", "camera_id", "since", "until", "read_ids")
DONE = {
    "approved": "Hold approved: it keeps its reads.",
    "refused": "Hold refused.",
    "released": "Hold released.",
    "requested": "Hold requested: it protects its reads from the purge now; someone else must approve it.",
}


@router.get("/retention")
def retention_page(request: Request, state: Viewer, work: DbWork) -> Response:
    """The oldest read, reads due for purge, reads kept under hold, the last purge and its certificate."""
    figures = retention_figures(work.session, work.settings)
    runs = list_runs(work, state.principal)
    return render(request, "retention.html", {"figures": figures, "runs": runs, "kinds": COUNT_KINDS})


@router.get("/retention/purges/{run_id}/certificate")
def certificate_page(
    run_id: RowId,
    request: Request,
    state: Viewer,
    work: DbWork,
    format: Annotated[Literal["html", "json", "pdf"], Query()] = "html",
) -> Response:
    """A purge certificate to read, print or download (JSON, the signed original; PDF)."""
    if format != "html":
        return api_certificate(run_id, state, work, format)
    try:
        _, certificate = certificate_of(work, state.principal, run_id, "html")
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return document_response(certificate_html(certificate, work.settings))


def _holds_page(request: Request, state: SessionState, work: DbWork, status: int = 200, **extra: Any) -> Response:
    context = {
        "holds": list_holds(work, state.principal),
        "reasons": HOLD_REASONS,
        "scopes": HOLD_SCOPES,
        "cameras": list_cameras(work.session),
        "form": {},
        "error": None,
        **extra,
    }
    return render(request, "holds.html", context, status)


@router.get("/holds")
def holds_page(request: Request, state: Requester, work: DbWork) -> Response:
    """Every legal hold with its age, size and what it covers, and the form to request one."""
    return _holds_page(request, state, work)


def _local(value: str, tz: tzinfo, name: str) -> datetime | None:
    try:
        return local_datetime(value, tz)
    except ValueError as exc:
        raise HoldRefused(name, str(exc)) from None


def _hold_request(form: dict[str, str], tz: tzinfo) -> HoldRequest:
    ids = []
    for token in re.split(r"[\s,]+", form["read_ids"].strip()):
        if token:
            try:
                ids.append(uuid.UUID(token))
            except ValueError:
                raise HoldRefused("read_ids", f"{token[:40]!r} is not a read id") from None
    camera = form["camera_id"]
    if camera and not (camera.isdigit() and len(camera) < 10):
        raise HoldRefused("camera_id", "choose a camera from the list")
    return HoldRequest(
        case_number=form["case_number"],
        reason=form["reason"],
        description=form["description"],
        scope=form["scope"],
        plate=form["plate"] or None,
        camera_id=int(camera) if camera else None,
        since=_local(form["since"], tz, "since"),
        until=_local(form["until"], tz, "until"),
        read_ids=tuple(ids),
    )


@router.post("/holds")
def holds_request(
    request: Request,
    state: Requester,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    case_number: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    scope: Annotated[str, Form(max_length=16)] = "",
    plate: Annotated[str, Form(max_length=16)] = "",
    camera_id: Annotated[str, Form(max_length=12)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
    read_ids: Annotated[str, Form(max_length=400_000)] = "",
) -> Response:
    """Request a hold; then its page (Post/Redirect/Get)."""
    check_csrf(state, csrf_token)
    given = (case_number, reason, description, scope, plate, camera_id, since, until, read_ids)
    values = dict(zip(HOLD_FIELDS, given, strict=True))
    try:
        hold = request_hold(work, state.principal, _hold_request(values, work.settings.tz))
    except HoldRefused as exc:
        return _holds_page(request, state, work, 400, error=str(exc), form=values)
    return RedirectResponse(f"/holds/{hold.id}?done=requested", status_code=303)


def _hold_page(
    request: Request, state: SessionState, work: DbWork, hold_id: int, status: int = 200, **extra: Any
) -> Response:
    try:
        summary = get_hold(work, state.principal, hold_id)
    except HoldNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    done = DONE.get(request.query_params.get("done", ""))
    context = {"summary": summary, "hold": summary.hold, "reasons": HOLD_REASONS, "done": done, "error": None, **extra}
    return render(request, "hold.html", context, status)


@router.get("/holds/{hold_id}")
def hold_page(hold_id: RowId, request: Request, state: Requester, work: DbWork) -> Response:
    """One hold: what it covers, who asked and who decided, its evidence packages, and its next step."""
    return _hold_page(request, state, work, hold_id)


@router.post("/holds/{hold_id}/decision")
def hold_decide(
    hold_id: RowId,
    request: Request,
    state: Approver,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    decision: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve or refuse a requested hold."""
    check_csrf(state, csrf_token)
    if decision not in ("approve", "refuse"):
        return _hold_page(request, state, work, hold_id, 400, error="decision: approve or refuse")
    approve = decision == "approve"
    step = partial(decide_hold, work, state.principal, hold_id, approve=approve, note=note)
    return _hold_step(request, state, work, hold_id, step, "approved" if approve else "refused")


@router.post("/holds/{hold_id}/release")
def hold_release(
    hold_id: RowId,
    request: Request,
    state: Approver,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Release an active hold with a reason."""
    check_csrf(state, csrf_token)
    return _hold_step(
        request, state, work, hold_id, partial(release_hold, work, state.principal, hold_id, reason), "released"
    )


def _hold_step(
    request: Request, state: SessionState, work: DbWork, hold_id: int, step: Callable[[], object], done: str
) -> Response:
    """Take a step on a hold, then show the hold with the outcome (Post/Redirect/Get), or the refusal on its page."""
    try:
        step()
    except HoldNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except HoldRefused as exc:
        return _hold_page(request, state, work, hold_id, 403 if exc.field == "hold" else 400, error=str(exc))
    return RedirectResponse(f"/holds/{hold_id}?done={done}", 303)


@router.post("/holds/{hold_id}/evidence")
def hold_evidence(
    hold_id: RowId,
    request: Request,
    state: Requester,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    booking_number: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Export the hold's evidence package and download it (the export is then listed on the hold)."""
    check_csrf(state, csrf_token)
    response = evidence_download(request, state, work, hold_id, booking_number)
    if response.media_type == "application/zip":
        return response
    problem = json.loads(bytes(response.body)).get("detail", "the package could not be written")
    return _hold_page(request, state, work, hold_id, response.status_code, error=problem)
