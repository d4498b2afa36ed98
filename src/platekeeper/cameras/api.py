"""JSON routes for cameras: list them (no plate data) and register new ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from platekeeper.access.service import SessionState
from platekeeper.cameras.models import Camera
from platekeeper.cameras.service import CameraError, camera_state, create_camera, list_cameras
from platekeeper.config import CamerasConfig
from platekeeper.db import json_fields, utcnow
from platekeeper.web.deps import DbSession, DbWork, app_state, requires

__all__ = ["camera_json", "router"]

router = APIRouter(prefix="/api/v1", tags=["cameras"])


class CameraIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    kind: str = Field(description="fixed, or mobile for a vehicle unit")
    location: str = Field("", max_length=200)
    latitude: float | None = None
    longitude: float | None = None


CAMERA_FIELDS = ("id", "name", "kind", "location", "latitude", "longitude", "active", "key_prefix", "last_seen_at")


def camera_json(camera: Camera, config: CamerasConfig) -> dict[str, Any]:
    """A camera as the API shows it, with its state (active, silent or inactive); the key itself is never shown
    after creation."""
    return json_fields(camera, *CAMERA_FIELDS, state=camera_state(camera, config, utcnow()))


@router.get("/cameras")
def api_list_cameras(
    request: Request, session: DbSession, state: Annotated[SessionState, Depends(requires("cameras.view"))]
) -> list[dict[str, Any]]:
    """Every camera with its state: ``active``, ``silent`` (no upload for longer than ``cameras.silent_after_minutes``,
    or ``cameras.mobile_silent_after_minutes`` for a mobile unit) or ``inactive``."""
    config = app_state(request).settings.cameras
    return [camera_json(c, config) for c in list_cameras(session)]


@router.post("/cameras", status_code=201)
def api_create_camera(
    body: CameraIn, state: Annotated[SessionState, Depends(requires("cameras.manage"))], work: DbWork
) -> dict[str, Any]:
    """Register a camera. The answer holds its API key, which is shown this once only."""
    try:
        camera, api_key = create_camera(work, **body.model_dump())
    except CameraError as exc:
        raise HTTPException(422, str(exc)) from None
    return {**camera_json(camera, work.settings.cameras), "api_key": api_key}
