"""The partner page (policy 462.7; off by default): a partner agency's named user, signed in with an account of the
``partner`` role, asks for one plate under an authorized purpose, their own case number and a justification, over
the same service call as ``POST /api/v1/sharing/partner/search``: the agreement's window, retention and the sharing
rules apply, and the query is logged like a local search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from platekeeper.access.service import SessionState
from platekeeper.sharing.pages import said, when
from platekeeper.sharing.service import PartnerQuery, SharingRefused, partner_search
from platekeeper.web.deps import DbWork, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Partner = Annotated[SessionState, Depends(requires("sharing.partner_query"))]


def _page(request: Request, work: DbWork, status: int = 200, **extra: Any) -> Response:
    context = {"enabled": work.settings.sharing.partner_queries, "form": {}, "reads": None, "error": None,
               "field": None, **extra}  # fmt: skip
    return render(request, "partner.html", context, status)


@router.get("/partner")
def partner_page(request: Request, state: Partner, work: DbWork) -> Response:
    """The query form, with what the agreement allows."""
    return _page(request, work)


@router.post("/partner")
def partner_query(
    request: Request,
    state: Partner,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    plate: Annotated[str, Form(max_length=16)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
    purpose: Annotated[str, Form(max_length=64)] = "",
    case_number: Annotated[str, Form(max_length=64)] = "",
    justification: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Run the query and show the reads it may see, or the refusal naming its field."""
    check_csrf(state, csrf_token)
    form = {"plate": plate, "since": since, "until": until, "purpose": purpose, "case_number": case_number,
            "justification": justification}  # fmt: skip
    tz = work.settings.tz
    try:
        query = PartnerQuery(plate, when(since, tz, "since"), when(until, tz, "until"), purpose, case_number,
                             justification)  # fmt: skip
        reads = partner_search(work, state.principal, query)
    except SharingRefused as exc:
        status = 403 if exc.field in ("partner", "rules") else 400
        return _page(request, work, status, form=form, error=said(exc), field=exc.field)
    return _page(request, work, form=form, reads=reads)
