"""The home page (signed-in users) and the public health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from platekeeper.access.service import SessionState
from platekeeper.cameras.service import list_cameras
from platekeeper.db import utcnow
from platekeeper.reads.service import read_statistics
from platekeeper.web.deps import PUBLIC, SIGNED_IN, DbSession, render

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", dependencies=[Depends(PUBLIC)], tags=["system"])
def healthz() -> dict[str, str]:
    """Liveness check for load balancers and monitoring."""
    return {"status": "ok"}


@router.get("/", include_in_schema=False)
def home(request: Request, session: DbSession, state: Annotated[SessionState, Depends(SIGNED_IN)]) -> Response:
    """What the signed-in user can do, with aggregate counts (no plate data)."""
    cameras = list_cameras(session)
    return render(
        request,
        "home.html",
        {
            "stats": read_statistics(session, utcnow()),
            "cameras_active": sum(1 for c in cameras if c.active),
            "cameras_total": len(cameras),
        },
    )
