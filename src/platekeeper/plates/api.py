"""The plate's story as data: ``GET /api/v1/plates/{plate}`` with the same context as a search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from platekeeper.access.service import SessionState
from platekeeper.plates.service import plate_story
from platekeeper.reads.api import summary_json
from platekeeper.reads.service import SearchError
from platekeeper.web.access_params import require_access_context, search_refusal, stated_context
from platekeeper.web.deps import DbWork, app_state, requires

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["reads"])


@router.get(
    "/plates/{plate}",
    responses={400: {"description": "Missing purpose, case number or justification, or a malformed plate"}},
)
def api_plate_story(
    plate: Annotated[str, Path(min_length=1, max_length=16, description="The plate, letters and digits")],
    request: Request,
    state: Annotated[SessionState, Depends(requires("reads.search"))],
    work: DbWork,
) -> JSONResponse:
    """One plate's newest reads (with positions and image links) and its hotlist hits. Needs purpose, case_number
    and justification (query or X- headers) like a search, and is audited as ``reads.plate_story``."""
    ctx = require_access_context(work, state.principal, stated_context(request), "reads.search", {"plate": plate})
    try:
        story = plate_story(work, ctx, plate, app_state(request).image_store)
    except SearchError as exc:
        return search_refusal(exc)
    body: dict[str, Any] = {
        "plate": story.plate,
        "total_reads": story.total_reads,
        "reads": [summary_json(r, work.settings.tz) for r in story.reads],
        "hits": story.hits,
    }
    return JSONResponse(body)
