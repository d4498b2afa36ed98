"""The transparency figures as JSON (``/transparency.json``, no sign-in): the same dict the page renders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from platekeeper.web.deps import PUBLIC, DbWork, app_state

__all__ = ["NOT_PUBLISHED", "router"]

router = APIRouter(tags=["transparency"])
Anyone = Annotated[None, Depends(PUBLIC)]
NOT_PUBLISHED = (
    "The transparency page is not published yet (transparency.published); the usage and privacy policy is at /policy."
)


@router.get("/transparency.json", responses={404: {"description": "Not published yet (transparency.published)."}})
def transparency_json(request: Request, _: Anyone, work: DbWork) -> Response:
    """The transparency page's figures: counts only, small ones as {"fewer_than": N}; never a plate, a user, a
    case number or a justification. 404 until the agency publishes the page."""
    if not work.settings.transparency.published:
        return JSONResponse({"detail": NOT_PUBLISHED, "policy": "/policy"}, status_code=404)
    return JSONResponse(app_state(request).services.public_face.figures(work))
