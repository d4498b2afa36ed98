"""JSON routes for retention: legal holds, the retention figures, purge runs and their certificates.

A refused hold step is answered (400 naming the field, 403 for approving one's own request, 409 for a hold not in
the state the step needs) after its refusal is recorded: the answer is a normal return, so that record commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from platekeeper.access.service import SessionState
from platekeeper.retention.documents import certificate_pdf, custody_documents
from platekeeper.retention.service import (
    HoldNotFound,
    HoldRefused,
    HoldRequest,
    HoldSummary,
    RunNotFound,
    certificate_of,
    decide_hold,
    export_evidence,
    get_hold,
    list_holds,
    list_runs,
    release_hold,
    request_hold,
    retention_figures,
    run_json,
)
from platekeeper.web.deps import DbWork, app_state, requires

__all__ = ["evidence_download", "hold_json", "hold_refusal", "router"]

router = APIRouter(prefix="/api/v1", tags=["retention"])
HoldId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The hold's id")]
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The purge run's id")]


class HoldIn(BaseModel):
    case_number: str = Field(min_length=1, max_length=64)
    reason: Literal["evidence", "discovery", "other_lawful_action"]
    description: str = Field(min_length=1, max_length=2000, description="What the hold is for")
    scope: Literal["reads", "plate", "camera"]
    plate: str | None = Field(None, max_length=16)
    camera_id: int | None = Field(None, ge=1, le=2**31 - 1)
    since: datetime | None = None
    until: datetime | None = None
    read_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)


class DecisionIn(BaseModel):
    decision: Literal["approve", "refuse"]
    note: str | None = Field(None, max_length=2000)


class EvidenceIn(BaseModel):
    booking_number: str = Field(min_length=1, max_length=64, description="The property booking number")


class ReleaseIn(BaseModel):
    reason: str = Field(max_length=2000, description="Why the hold ends (at least 10 characters)")


def hold_json(summary: HoldSummary) -> dict[str, Any]:
    hold = summary.hold
    return {
        "id": hold.id,
        "case_number": hold.case_number,
        "reason": hold.reason,
        "description": hold.description,
        "scope": hold.scope,
        "plate": hold.plate,
        "camera_id": hold.camera_id,
        "since": hold.since.isoformat() if hold.since else None,
        "until": hold.until.isoformat() if hold.until else None,
        "status": hold.status,
        "requested_by": hold.requested_by,
        "requested_at": hold.requested_at.isoformat(),
        "decided_by": hold.decided_by,
        "decided_at": hold.decided_at.isoformat() if hold.decided_at else None,
        "released_by": hold.released_by,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
        "release_reason": hold.release_reason,
        "covers": summary.covers(),
        "reads": summary.reads,
        "age_days": summary.age_days,
        "exports": [
            {
                "id": e.id,
                "booking_number": e.booking_number,
                "reads": e.reads,
                "exported_by": e.exported_by,
                "exported_at": e.exported_at.isoformat(),
                "manifest_sha256": e.manifest_sha256,
            }
            for e in summary.exports
        ],
    }


def hold_refusal(exc: HoldRefused) -> JSONResponse:
    status = {"status": 409, "hold": 403}.get(exc.field, 400)
    return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=status)


@router.get("/holds")
def api_list_holds(
    state: Annotated[SessionState, Depends(requires("holds.request"))],
    work: DbWork,
    status: Annotated[Literal["requested", "active", "refused", "released"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Every legal hold (or those in ``status``), newest first, with its age, size and what it covers."""
    return [hold_json(h) for h in list_holds(work, state.principal, status=status)]


@router.post("/holds", status_code=201, responses={400: {"description": "A field is missing or wrong"}})
def api_request_hold(
    body: HoldIn, state: Annotated[SessionState, Depends(requires("holds.request"))], work: DbWork
) -> Any:
    """Request a legal hold. It protects its reads from the purge at once; once someone else with
    ``holds.approve`` approves it, its reads past retention are reachable under its case number only."""
    request = HoldRequest(**{**body.model_dump(), "read_ids": tuple(body.read_ids)})
    try:
        hold = request_hold(work, state.principal, request)
    except HoldRefused as exc:
        return hold_refusal(exc)
    return hold_json(get_hold(work, state.principal, hold.id))


@router.get("/holds/{hold_id}")
def api_get_hold(
    hold_id: HoldId, state: Annotated[SessionState, Depends(requires("holds.request"))], work: DbWork
) -> dict[str, Any]:
    """One hold with what it covers and the evidence packages exported for it."""
    try:
        return hold_json(get_hold(work, state.principal, hold_id))
    except HoldNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/holds/{hold_id}/decision", responses={403: {"description": "Approving one's own request"}})
def api_decide_hold(
    hold_id: HoldId,
    body: DecisionIn,
    state: Annotated[SessionState, Depends(requires("holds.approve"))],
    work: DbWork,
) -> Any:
    """Approve or refuse a requested hold (a refusal needs a note); never one's own request."""
    approve = body.decision == "approve"
    return _hold_step(
        work, state, hold_id, lambda: decide_hold(work, state.principal, hold_id, approve=approve, note=body.note)
    )


@router.post("/holds/{hold_id}/release")
def api_release_hold(
    hold_id: HoldId,
    body: ReleaseIn,
    state: Annotated[SessionState, Depends(requires("holds.approve"))],
    work: DbWork,
) -> Any:
    """Release an active hold with a reason; its reads fall back under normal retention."""
    return _hold_step(work, state, hold_id, partial(release_hold, work, state.principal, hold_id, body.reason))


def _hold_step(work: DbWork, state: SessionState, hold_id: int, step: Callable[[], object]) -> Any:
    """Take a step on a hold and answer the hold as it now is, or the refusal (recorded, and committed)."""
    try:
        step()
        return hold_json(get_hold(work, state.principal, hold_id))
    except HoldNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except HoldRefused as exc:
        return hold_refusal(exc)


@router.get("/retention")
def api_retention(state: Annotated[SessionState, Depends(requires("retention.view"))], work: DbWork) -> dict[str, Any]:
    """Where retention stands: the oldest read, reads due for purge, reads kept under hold, the last purge (and
    whether it is stale), and the newest purge runs."""
    figures = retention_figures(work.session, work.settings).as_json()
    return {**figures, "runs": [run_json(run) for run in list_runs(work, state.principal)]}


@router.get("/retention/purges/{run_id}/certificate")
def api_certificate(
    run_id: RunId,
    state: Annotated[SessionState, Depends(requires("retention.view"))],
    work: DbWork,
    format: Annotated[Literal["json", "pdf"], Query(description="json (signed) or pdf")] = "json",
) -> Response:
    """A finished purge's signed certificate, as JSON (check it with ``platekeeper purge verify``) or as PDF."""
    try:
        run, certificate = certificate_of(work, state.principal, run_id, format)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    name = f"purge-certificate-{run.id}"
    if format == "pdf":
        body, media = certificate_pdf(certificate, work.settings), "application/pdf"
    else:
        body, media = bytes(JSONResponse(certificate).body), "application/json"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})


def evidence_download(request: Request, state: SessionState, work: DbWork, hold_id: int, booking: str) -> Response:
    """Write the hold's evidence package (a ZIP kept under ``retention.evidence_dir``) and send it. Audited."""
    services, settings = app_state(request).services, work.settings
    try:
        package = export_evidence(
            work,
            state.principal,
            hold_id,
            booking,
            store=services.image_store,
            signer=services.signing_key,
            render=custody_documents(settings),
            destination=settings.data_path(settings.retention.evidence_dir),
        )
    except HoldNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except HoldRefused as exc:
        return hold_refusal(exc)
    disposition = f'attachment; filename="{package.path.name}"'
    return Response(
        package.path.read_bytes(), media_type="application/zip", headers={"Content-Disposition": disposition}
    )


@router.post(
    "/holds/{hold_id}/evidence",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The evidence package"}},
)
def api_export_evidence(
    hold_id: HoldId,
    body: EvidenceIn,
    request: Request,
    state: Annotated[SessionState, Depends(requires("holds.request"))],
    work: DbWork,
) -> Response:
    """Export an active hold's reads, images and audit events as an evidence package (ZIP) with a signed manifest
    and a chain-of-custody record; a copy stays under ``retention.evidence_dir`` and the export is listed on the
    hold. Check it with ``platekeeper evidence verify``."""
    return evidence_download(request, state, work, hold_id, body.booking_number)
