"""The notices page (``/notices``): open notices with the form to acknowledge each with a note, and the latest
acknowledged ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from platekeeper.access.service import SessionState
from platekeeper.notices.models import NOTICE_KINDS, NOTICE_SEVERITIES
from platekeeper.notices.service import NoticeNotFound, NoticeRefused, acknowledge_notice, list_notices
from platekeeper.web.deps import DbWork, RowId, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Viewer = Annotated[SessionState, Depends(requires("notices.view"))]
RECENT_ACKNOWLEDGED = 50


def _page(request: Request, state: SessionState, work: DbWork, status: int = 200, **extra: Any) -> Response:
    context = {
        "open": list_notices(work.session, work.settings, state.principal, status="open"),
        "acknowledged": list_notices(
            work.session, work.settings, state.principal, status="acknowledged", limit=RECENT_ACKNOWLEDGED
        ),
        "kinds": NOTICE_KINDS,
        "severities": NOTICE_SEVERITIES,
        "min_note": work.settings.guards.acknowledge_note_min_length,
        "error": None,
        "error_id": None,
        "done": request.query_params.get("done"),
        **extra,
    }
    return render(request, "notices.html", context, status)


@router.get("/notices")
def notices_page(request: Request, state: Viewer, work: DbWork) -> Response:
    """Open notices (breach notices first), each with the form to acknowledge it, and the latest acknowledged."""
    return _page(request, state, work)


@router.post("/notices/{notice_id}/acknowledge")
def notice_acknowledge(
    notice_id: RowId,
    request: Request,
    state: Viewer,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Acknowledge a notice with a note (what was done about it)."""
    check_csrf(state, csrf_token)
    try:
        acknowledge_notice(work, state.principal, notice_id, note)
    except NoticeNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NoticeRefused as exc:
        return _page(request, state, work, exc.status, error=str(exc), error_id=notice_id)
    return RedirectResponse(f"/notices?done={notice_id}", 303)
