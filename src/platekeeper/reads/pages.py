"""The search page and the read detail page. Both go through reads.service with an AccessContext."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from platekeeper.access.service import SessionState, remember_access_context
from platekeeper.cameras.service import list_cameras
from platekeeper.db import utcnow
from platekeeper.reads.service import SORTS, ReadNotFound, ReadQuery, SearchError, get_read, search_reads
from platekeeper.web.access_params import (
    CONTEXT_FIELDS,
    StatedContext,
    prompt_page,
    require_access_context,
    stated_context,
    states_context,
)
from platekeeper.web.deps import MAX_ROW_ID, DbWork, app_state, check_csrf, render, requires, same_origin
from platekeeper.web.forms import local_datetime

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
CROSS_SITE_NOTICE = (
    "This search was opened from a link outside platekeeper, so it has not run. Check the purpose, case number "
    "and justification below, then press Search."
)


STALE_NOTICE = (
    "These results were asked for under a purpose and case number that this session has since replaced with "
    "another search's, so nothing was searched. State the purpose, case number and justification again."
)


def _remembered(request: Request, state: SessionState) -> dict[str, str] | None:
    """The context last stated in this session, for requests from this site's own pages only. A results page or a
    read opened from one names its search's context (``ctx``): when the session has stated another one since, none
    is reused, so an older tab never runs under a newer case."""
    if not same_origin(request):
        return None
    remembered = state.access_context
    wanted = request.query_params.get("ctx")
    if wanted is not None and (remembered or {}).get("id") != wanted:
        return None
    return remembered


def _stale(request: Request, state: SessionState) -> bool:
    wanted = request.query_params.get("ctx")
    return wanted is not None and not states_context(request) and (state.access_context or {}).get("id") != wanted


def _is_row_id(text: str) -> bool:
    return len(text) <= 10 and text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ROW_ID


SEARCH_FIELDS = ("plate", "since", "until", "camera", "range", "sort")
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
"""The quick ranges: the last hour, 24 hours or 7 days, up to now."""


def _local_time(value: str | None, tz: tzinfo, name: str) -> datetime | None:
    try:
        return local_datetime(value, tz)
    except ValueError as exc:
        raise SearchError(f"{name}: {exc}") from None


def _form(params: Any, stated: StatedContext, tz: tzinfo) -> dict[str, Any]:
    """The search form's values from a query string or a posted form; a quick range (``range``) fills in
    ``since`` and ``until``, from that long ago to now, in the agency's time."""
    since, until = params.get("since", ""), params.get("until", "")
    quick = params.get("range", "")
    if quick in RANGES:
        now = utcnow().astimezone(tz).replace(second=0, microsecond=0, tzinfo=None)
        since, until = (
            (now - RANGES[quick]).isoformat(timespec="minutes"),
            (now + timedelta(minutes=1)).isoformat(timespec="minutes"),
        )
    return {
        **stated.as_dict(),
        "plate": params.get("plate", ""),
        "since": since,
        "until": until,
        "sort": params.get("sort", "") if params.get("sort", "") in SORTS else "newest",
        "cameras": [int(c) for c in params.getlist("camera") if _is_row_id(c)],
    }


def _results_url(form: dict[str, Any]) -> str:
    """Where a posted search's results are shown: its query, never the purpose, case number or justification."""
    items = [("plate", form["plate"]), ("since", form["since"]), ("until", form["until"]), ("sort", form["sort"])]
    items += [("camera", str(c)) for c in form["cameras"]]
    return "/search?" + urlencode([(k, v) for k, v in items if v])


def _page_link(request: Request, page: int, ctx_id: str | None) -> str:
    """Another page of these results, under the same search's context."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "ctx")]
    if ctx_id and not states_context(request):
        items.append(("ctx", ctx_id))
    return "/search?" + urlencode([*items, ("page", str(page))])


@router.get("/search")
def search_page(
    request: Request,
    state: Annotated[SessionState, Depends(requires("reads.search"))],
    work: DbWork,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search form and results. The purpose, case number and justification are asked for every search.

    The context last stated in this session is reused only for a request from this site's own pages (its result
    pages, its links); a link from anywhere else shows the filled-in form and searches nothing until the officer
    submits it."""
    stated = stated_context(request, fallback=_remembered(request, state))
    session, tz = work.session, work.settings.tz
    form = _form(request.query_params, stated, tz)
    base = {"form": form, "cameras": list_cameras(session), "problems": {}, "error": None, "result": None}
    if not any(name in request.query_params for name in (*SEARCH_FIELDS, "purpose")):
        return render(request, "search.html", base)
    if not same_origin(request) and not states_context(request):
        return render(request, "search.html", {**base, "notice": CROSS_SITE_NOTICE})
    if _stale(request, state):
        return render(request, "search.html", {**base, "notice": STALE_NOTICE})
    try:
        query = ReadQuery(
            plate=form["plate"] or None,
            since=_local_time(form["since"], tz, "since"),
            until=_local_time(form["until"], tz, "until"),
            camera_ids=tuple(form["cameras"]),
            page=page,
            sort=form["sort"],
        )
    except SearchError as exc:
        return render(request, "search.html", {**base, "error": str(exc)}, 400)
    ctx = require_access_context(
        work,
        state.principal,
        stated,
        "reads.search",
        query.describe(),
        page=lambda fresh, problems: render(  # the request's session has ended: its cameras are read again
            request, "search.html", {**base, "cameras": list_cameras(fresh.session), "problems": problems}, 400
        ),
    )
    try:
        result = search_reads(work, ctx, query, store=app_state(request).image_store)
    except SearchError as exc:
        return render(request, "search.html", {**base, "error": str(exc)}, 400)
    ctx_id = request.query_params.get("ctx")
    if states_context(request) or ctx_id is None:  # a context stated here (or an old link): kept under a new id
        ctx_id = remember_access_context(session, state.session_id, ctx.as_dict())
    links = {
        "prev": _page_link(request, page - 1, ctx_id) if page > 1 else None,
        "next": _page_link(request, page + 1, ctx_id) if result.has_next else None,
    }
    return render(request, "search.html", {**base, "result": result, "links": links, "context": ctx, "ctx_id": ctx_id})


@router.post("/search")
async def search_post(
    request: Request, state: Annotated[SessionState, Depends(requires("reads.search"))], work: DbWork
) -> Response:
    """The search form, posted with its CSRF token: the purpose, case number and justification are checked and kept
    with the session, then the browser goes to the results at a URL that holds only the query (so no justification
    lands in the address bar, the history or a proxy's log). A refused context shows the form with its problems."""
    posted = await request.form()
    check_csrf(state, str(posted.get("csrf_token", "")))
    stated = StatedContext(**{name: str(posted.get(name, "")) or None for name in CONTEXT_FIELDS})
    form = _form(posted, stated, work.settings.tz)
    base = {"form": form, "cameras": list_cameras(work.session), "problems": {}, "error": None, "result": None}
    ctx = require_access_context(
        work,
        state.principal,
        stated,
        "reads.search",
        {"plate": form["plate"] or None},
        page=lambda fresh, problems: render(
            request, "search.html", {**base, "cameras": list_cameras(fresh.session), "problems": problems}, 400
        ),
    )
    ctx_id = remember_access_context(work.session, state.session_id, ctx.as_dict())  # its results name this id
    return RedirectResponse(_results_url(form) + "&" + urlencode({"ctx": ctx_id}), status_code=303)


@router.get("/reads/{read_id}")
def read_page(
    read_id: uuid.UUID,
    request: Request,
    state: Annotated[SessionState, Depends(requires("reads.view"))],
    work: DbWork,
) -> Response:
    """One read with its plate crop and overview. Opening it is a data access and is audited (the remembered
    context is reused only from this site's own pages, as for a search)."""
    stated = stated_context(request, fallback=_remembered(request, state))
    ctx = require_access_context(
        work,
        state.principal,
        stated,
        "reads.view",
        {"read_id": str(read_id)},
        page=prompt_page(
            request,
            stated,
            action=f"/reads/{read_id}",
            intro="Opening a read is a data access. Give the authorized purpose, the case number and a "
            "justification; they are recorded with the access.",
            submit="Open the read",
        ),
        prompt=True,
    )
    try:
        detail = get_read(work, ctx, read_id, app_state(request).image_store)
    except ReadNotFound as exc:
        return render(request, "error.html", {"status": 404, "message": str(exc)}, 404)
    if states_context(request):  # stated here: it becomes the session's context (a reused one stays as it was)
        remember_access_context(work.session, state.session_id, ctx.as_dict())
    return render(request, "read.html", {"detail": detail, "context": ctx})
