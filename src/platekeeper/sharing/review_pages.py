"""The review pages (policy 462.7(b)): the queue of requests waiting for review, one request as its reviewer sees
it with the written request, and the review form. They need ``sharing.review`` alone, so that a designee role from
``sharing.designee_roles`` reviews through the pages as through the API; entering and fulfilling stay intake's."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from platekeeper.access.service import SessionState
from platekeeper.sharing.api import document_response
from platekeeper.sharing.models import REQUEST_STATES
from platekeeper.sharing.pages import labels, open_request_or_404, plates_of, request_page, said, when
from platekeeper.sharing.service import (
    RequestScope,
    SharingNotFound,
    SharingRefused,
    get_request,
    list_agencies,
    list_requests,
    review_request,
)
from platekeeper.web.deps import DbWork, RowId, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[SessionState, Depends(requires("sharing.review"))]
REVIEW = "/sharing/review"
FORM_MINUTE = "%Y-%m-%dT%H:%M"  # how a datetime-local field shows a time


def _home(state: SessionState) -> str:
    """Where a request's page lies for this person: intake's page if they hold it, else the reviewer's."""
    return "/sharing/requests" if state.principal.can("sharing.intake") else REVIEW


@router.get("/sharing/review")
def review_queue(request: Request, state: Reviewer, work: DbWork) -> Response:
    """The agency requests waiting for review, oldest first, then those reviewed."""
    rows = list_requests(work, "agency")
    waiting = [r for r in reversed(rows) if r.status == "pending_review"]
    context = {"waiting": waiting, "others": [r for r in rows if r.status != "pending_review"],
               "agencies": {a.id: a for a in list_agencies(work)}, "states": REQUEST_STATES,
               "labels": labels(work)}  # fmt: skip
    return render(request, "sharing_review.html", context)


@router.get("/sharing/review/{request_id}")
def review_page(request_id: RowId, request: Request, state: Reviewer, work: DbWork) -> Response:
    """One request as its reviewer sees it: what was asked, the rules that fired, the document, the review form."""
    return request_page(request, state, work, request_id, base=REVIEW)


@router.get("/sharing/review/{request_id}/document")
def review_document(request_id: RowId, request: Request, state: Reviewer, work: DbWork) -> Response:
    """The written request as it was received, for its reviewer (opened from its sealed store)."""
    return document_response(open_request_or_404(work, state, request_id, "agency", "document"), request)


def _approved_scope(work: DbWork, request_id: int, plates: str, since: str, until: str) -> RequestScope:
    """The scope the form approves: its plates and window, each left empty meaning what was asked. Every field
    counts on its own: narrowing the plates alone narrows them."""
    row, tz = get_request(work, request_id, "agency"), work.settings.tz
    return RequestScope(
        plates_of(plates) or tuple(row.plates),
        _bound(since, row.since, tz, "since"),
        _bound(until, row.until, tz, "until"),
        tuple(row.camera_ids),
    )


def _bound(value: str, asked: datetime, tz: tzinfo, name: str) -> datetime:
    """A window's bound from the form: empty, or the asked bound as the form shows it (to the minute), is the
    asked bound itself."""
    if not value or value == asked.astimezone(tz).strftime(FORM_MINUTE):
        return asked
    return when(value, tz, name)


@router.post("/sharing/requests/{request_id}/review")
def sharing_review(
    request_id: RowId,
    request: Request,
    state: Reviewer,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    decision: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    plates: Annotated[str, Form(max_length=20_000)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Approve (the scope as asked, or narrowed in the form) or deny with a reason."""
    check_csrf(state, csrf_token)
    try:
        if decision not in ("approve", "deny"):
            raise SharingRefused("decision", "approve or deny")
        scope = _approved_scope(work, request_id, plates, since, until) if decision == "approve" else None
        review_request(work, state.principal, request_id, approve=decision == "approve", note=note, scope=scope)
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        status = {"status": 409, "reviewer": 403}.get(exc.field, 400)
        return request_page(request, state, work, request_id, status, error=said(exc), base=_home(state))
    done = "approved" if decision == "approve" else "denied"
    return RedirectResponse(f"{_home(state)}/{request_id}?done={done}", 303)
