"""JSON routes for notices: the open ones (or acknowledged, or all) and acknowledging one with a note.

A refused acknowledgement is answered (400 naming the field, 404 for a notice one may not see, 409 for one already
acknowledged) as a normal return.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from platekeeper.access.service import SessionState
from platekeeper.notices.models import Notice
from platekeeper.notices.service import NoticeNotFound, NoticeRefused, acknowledge_notice, list_notices
from platekeeper.web.deps import DbWork, requires

__all__ = ["notice_json", "router"]

router = APIRouter(prefix="/api/v1", tags=["notices"])
Viewer = Annotated[SessionState, Depends(requires("notices.view"))]
NoticeId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The notice's id")]


class AcknowledgementIn(BaseModel):
    note: str = Field(max_length=2000, description="What was done about it (at least 10 characters by default)")


def notice_json(notice: Notice) -> dict[str, Any]:
    """A notice as the API shows it: what was found (counts and the rule, never a plate) and its acknowledgement."""
    return {
        "id": notice.id,
        "kind": notice.kind,
        "severity": notice.severity,
        "rule": notice.rule,
        "subject": notice.subject,
        "subject_role": notice.subject_role,
        "raised_at": notice.raised_at.isoformat(),
        "finding": notice.finding,
        "figures": notice.figures,
        "recipients": notice.recipients,
        "acknowledged_by": notice.acknowledged_by,
        "acknowledged_at": notice.acknowledged_at.isoformat() if notice.acknowledged_at else None,
        "acknowledgement_note": notice.acknowledgement_note,
    }


@router.get("/notices")
def api_notices(
    state: Viewer,
    work: DbWork,
    status: Annotated[Literal["open", "acknowledged", "all"], Query(description="Which notices")] = "open",
) -> dict[str, Any]:
    """The notices for you: guards' notices about the searches of the users you supervise (every user's for the
    administrator and the custodian), and breach notices if you receive them."""
    notices = list_notices(work.session, work.settings, state.principal, status=status)
    return {"notices": [notice_json(n) for n in notices]}


@router.post(
    "/notices/{notice_id}/acknowledge",
    responses={
        400: {"description": "The note is missing or too short"},
        404: {"description": "No such notice for you"},
        409: {"description": "Acknowledged already"},
    },
)
def api_acknowledge(notice_id: NoticeId, body: AcknowledgementIn, state: Viewer, work: DbWork) -> Response:
    """Acknowledge a notice with a note saying what was done about it; recorded in the audit log."""
    try:
        notice = acknowledge_notice(work, state.principal, notice_id, body.note)
    except NoticeNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except NoticeRefused as exc:
        return JSONResponse({"detail": str(exc), "problems": {exc.field: str(exc)}}, status_code=exc.status)
    return JSONResponse(notice_json(notice))
