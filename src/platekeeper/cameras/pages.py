"""The cameras page: status for maintenance, registration and key rotation for administrators."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlalchemy.orm import Session

from platekeeper.access.service import SessionState
from platekeeper.cameras.service import (
    CameraError,
    camera_state,
    create_camera,
    deactivate_camera,
    list_cameras,
    rotate_camera_key,
)
from platekeeper.db import utcnow
from platekeeper.reads.service import hourly_reads
from platekeeper.web.deps import DbSession, DbWork, RowId, app_state, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Manage = Annotated[SessionState, Depends(requires("cameras.manage"))]


def _page(request: Request, session: Session, status: int = 200, **extra: object) -> Response:
    config, now = app_state(request).settings.cameras, utcnow()
    cameras = [(c, camera_state(c, config, now)) for c in list_cameras(session)]
    hourly = hourly_reads(session, now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
    context = {
        "cameras": cameras,
        "hourly": hourly,
        "config": config,
        "error": None,
        "new_key": None,
        "form": {},
        **extra,
    }
    return render(request, "cameras.html", context, status)


@router.get("/cameras")
def cameras_page(
    request: Request, session: DbSession, state: Annotated[SessionState, Depends(requires("cameras.view"))]
) -> Response:
    """Every camera: kind, location, last upload."""
    return _page(request, session)


@router.post("/cameras")
def cameras_create(
    request: Request,
    state: Manage,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=80)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    location: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Register a camera and show its API key once."""
    check_csrf(state, csrf_token)
    try:
        camera, key = create_camera(work, name=name, kind=kind, location=location)
    except CameraError as exc:
        form = {"name": name, "kind": kind, "location": location}
        return _page(request, work.session, 400, error=str(exc), form=form)
    return _page(request, work.session, new_key={"camera": camera.name, "key": key})


@router.post("/cameras/{camera_id}/rotate-key")
def cameras_rotate(
    camera_id: RowId, request: Request, state: Manage, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Replace a camera's API key; the old key stops working at once."""
    check_csrf(state, csrf_token)
    try:
        key = rotate_camera_key(work, camera_id)
    except CameraError as exc:
        return _page(request, work.session, 404, error=str(exc))
    cameras = {c.id: c.name for c in list_cameras(work.session)}
    return _page(request, work.session, new_key={"camera": cameras.get(camera_id, str(camera_id)), "key": key})


@router.post("/cameras/{camera_id}/deactivate")
def cameras_deactivate(
    camera_id: RowId, request: Request, state: Manage, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Stop accepting uploads from a camera; its reads stay searchable."""
    check_csrf(state, csrf_token)
    try:
        deactivate_camera(work, camera_id)
    except CameraError as exc:
        return _page(request, work.session, 404, error=str(exc))
    return _page(request, work.session)
