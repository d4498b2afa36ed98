"""The plate's story page: asked for the context as a read is, then the timeline, the map, the crops and the hits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from platekeeper.access.service import SessionState, remember_access_context
from platekeeper.plates.map import story_map
from platekeeper.plates.service import plate_story
from platekeeper.reads.service import SearchError
from platekeeper.web.access_params import prompt_page, require_access_context, stated_context, states_context
from platekeeper.web.deps import DbWork, app_state, render, requires, same_origin

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PlateText = Annotated[str, Path(min_length=1, max_length=16, description="The plate, letters and digits")]


@router.get("/plates/{plate}")
def plate_page(
    plate: PlateText, request: Request, state: Annotated[SessionState, Depends(requires("reads.search"))], work: DbWork
) -> Response:
    """One plate's reads on a timeline and a map, their crops side by side, and its hotlist hits. Audited like a
    search; the context last stated in this session is reused only from this site's own pages."""
    stated = stated_context(request, fallback=state.access_context if same_origin(request) else None)
    ctx = require_access_context(
        work,
        state.principal,
        stated,
        "reads.search",
        {"plate": plate},
        page=prompt_page(
            request,
            stated,
            action=f"/plates/{plate}",
            intro=f"A plate's story shows every read of {plate} kept under the retention period: it is recorded "
            "like a search, with the purpose, the case number and the justification.",
            submit="Open the plate's story",
        ),
        prompt=True,
    )
    try:
        story = plate_story(work, ctx, plate, app_state(request).image_store)
    except SearchError as exc:
        return render(request, "error.html", {"status": 400, "message": str(exc)}, 400)
    if states_context(request):  # stated here: it becomes the session's context
        remember_access_context(work.session, state.session_id, ctx.as_dict())
    drawn = story_map(
        [(c.name, c.latitude, c.longitude) for c in story.cameras],
        [(r.captured_at.isoformat(), r.latitude, r.longitude) for r in story.reads],
    )
    return render(request, "plate.html", {"story": story, "map": drawn, "context": ctx})
