"""The home page (signed-in users), system health (no plate data) and the public liveness check."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from platekeeper.access.service import SessionState
from platekeeper.alerts.service import open_alerts_by_priority
from platekeeper.audit.service import AuditFilter, count_events
from platekeeper.audits.service import audit_due
from platekeeper.cameras.api import camera_json
from platekeeper.cameras.service import list_cameras, silent_cameras
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.notices.service import list_notices
from platekeeper.reads.queue import queue_counts
from platekeeper.reads.service import read_statistics
from platekeeper.retention.service import retention_figures
from platekeeper.web.deps import PUBLIC, SIGNED_IN, DbSession, app_state, render, requires

__all__ = ["router", "system_health"]

router = APIRouter()


FAVICON = Path(__file__).parent / "static" / "favicon.ico"


@router.get("/favicon.ico", dependencies=[Depends(PUBLIC)], include_in_schema=False)
def favicon() -> FileResponse:
    """The tab icon browsers ask for on every page (a plate), so no page logs a 404 for it."""
    return FileResponse(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/healthz", dependencies=[Depends(PUBLIC)], tags=["system"])
def healthz() -> dict[str, str]:
    """Liveness check for load balancers and monitoring."""
    return {"status": "ok"}


def system_health(request: Request, session: Session) -> dict[str, Any]:
    """Database, storage, cameras and counts: what maintenance needs, without any plate data."""
    app = app_state(request)
    stats = read_statistics(session, utcnow())
    image_dir = app.settings.resolved_image_dir
    usage = shutil.disk_usage(image_dir if image_dir.exists() else app.settings.data_dir)
    return {
        "database": {"dialect": app.database.dialect, "revision": app.database.session_revision(session)},
        "image_store": {"free_bytes": usage.free, "total_bytes": usage.total},
        "reads": {"total": stats.total, "last_24h": stats.last_24h},
        "audit_events": count_events(session, AuditFilter()),
        "recognition_queue": queue_counts(session),
        "cameras": [camera_json(c, app.settings.cameras) for c in list_cameras(session)],
    }


@router.get("/api/v1/system/health", tags=["system"])
def api_system_health(
    request: Request, session: DbSession, state: Annotated[SessionState, Depends(requires("system.health"))]
) -> dict[str, Any]:
    """System health for administrators and vendor maintenance; holds no plate data."""
    return system_health(request, session)


def audit_overdue(session: Session, state: SessionState, settings: Settings) -> dict[str, Any] | None:
    """For those who perform or approve the system audits: the warning when none was approved within the plan's
    interval (6 months for two a year), or ever; else None."""
    if not (state.principal.can("audits.perform") or state.principal.can("audits.approve")):
        return None
    last, overdue = audit_due(session, settings)
    return {"last": last, "months": settings.audits.interval_months} if overdue else None


@router.get("/", include_in_schema=False)
def home(request: Request, session: DbSession, state: Annotated[SessionState, Depends(SIGNED_IN)]) -> Response:
    """What the signed-in user can do, with aggregate counts (no plate data)."""
    cameras = list_cameras(session)
    health = system_health(request, session) if state.principal.can("system.health") else None
    settings = app_state(request).settings
    can_see = state.principal.can("cameras.view")
    silent = silent_cameras(cameras, settings.cameras, utcnow()) if can_see else []
    return render(
        request,
        "home.html",
        {
            "stats": read_statistics(session, utcnow()),
            "cameras_active": sum(1 for c in cameras if c.active),
            "cameras_total": len(cameras),
            "silent": silent,
            "open_alerts": open_alerts_by_priority(session) if state.principal.can("alerts.view") else None,
            "health": health,
            "notices": list_notices(session, settings, state.principal, limit=settings.guards.home_notices)
            if state.principal.can("notices.view")
            else None,
            "audit_overdue": audit_overdue(session, state, app_state(request).settings),
            "retention": retention_figures(session, app_state(request).settings)
            if state.principal.can("retention.view")
            else None,
        },
    )
