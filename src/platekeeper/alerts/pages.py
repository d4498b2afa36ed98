"""Alert pages: the live dashboard, one alert side by side with its hotlist entry, the verification forms, figures."""

from __future__ import annotations

import difflib
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import Field

from platekeeper.access.service import SessionState
from platekeeper.alerts.api import AlertQuery
from platekeeper.alerts.service import (
    STATUSES,
    VISUAL_MATCH,
    AlertFilter,
    AlertNotFound,
    AlertStepRefused,
    LeadsRefused,
    acknowledge,
    alert_context,
    alert_figures,
    close_historical_leads,
    dispose,
    disposition_choices,
    get_alert_detail,
    latest_alert_id,
    list_alerts,
    record_clets,
    record_visual_check,
)
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.hotlists.matcher import Confusables
from platekeeper.hotlists.service import list_hotlists
from platekeeper.web.deps import MAX_ROW_ID, DbWork, RowId, app_state, check_csrf, render, requires

__all__ = ["char_diff", "router"]

router = APIRouter(include_in_schema=False)


def char_diff(read: str, entry: str, confusables: Confusables) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Each character of both plates marked same, confusable (O/0...) or differ, aligned by a sequence diff."""
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    fold = confusables.fold
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, fold(read), fold(entry), autojunk=False).get_opcodes():
        if op == "equal":
            for x, y in zip(read[a1:a2], entry[b1:b2], strict=True):
                mark = "same" if x == y else "confusable"
                left.append((x, mark))
                right.append((y, mark))
        else:
            left.extend((c, "differ") for c in read[a1:a2])
            right.extend((c, "differ") for c in entry[b1:b2])
    return left, right


@router.get("/alerts")
def alerts_page(
    request: Request,
    filters: AlertQuery,
    state: Annotated[SessionState, Depends(requires("alerts.view"))],
    work: DbWork,
) -> Response:
    """The live alert dashboard: newest sighting first, filters and pages, stale-list warnings, a loud banner for a
    new live hit; new alerts arrive over Server-Sent Events. After a bulk close, its outcome (two counts)."""
    return _alerts_page(request, filters, state, work, message=_closed_message(request))


def _closed_message(request: Request) -> str | None:
    """What a bulk close did, from the counts its redirect carries (numbers only: no free text in the address)."""
    closed, left = (request.query_params.get(name, "") for name in ("closed", "skipped"))
    if not closed.isdigit() or len(closed) > 4 or (left and (not left.isdigit() or len(left) > 4)):
        return None
    skipped = f"; {int(left)} left as they were (live, being verified, closed or purged)" if left and int(left) else ""
    return f"Closed {int(closed)} leads{skipped}."


def _alerts_page(
    request: Request, filters: AlertFilter, state: SessionState, work: Work, status: int = 200, **extra: Any
) -> Response:
    page = list_alerts(work, state.principal, filters)
    hotlists = list_hotlists(work.session, work.settings, utcnow())
    newest = latest_alert_id(work.session)  # the stream sends what is raised after this render
    context = {
        "page": page,
        "filters": filters,
        "hotlists": hotlists,
        "stale": [h for h in hotlists if h.stale],
        "newest": newest,
        "statuses": ("open", *STATUSES),
        "sound": work.settings.alerts.sound_on_live_hit,
        "query": {  # the pager's links keep these filters, after a bulk close's POST too
            "source": filters.source,
            "status": filters.status,
            "hotlist_id": filters.hotlist_id or "",
            "priority": filters.priority or "",
            **({"page_size": filters.page_size} if filters.page_size else {}),
        },
        "message": None,
        "error": None,
        **extra,
    }
    return render(request, "alerts.html", context, status)


@router.post("/alerts/leads/close")
def alert_leads_close(
    request: Request,
    state: Annotated[SessionState, Depends(requires("alerts.close_leads"))],
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    alert_id: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]], Form(max_length=1000)] = [],  # noqa: B006
) -> Response:
    """Close the checked historical leads with one reason, then redirect to the open historical leads with the
    outcome (Post/Redirect/Get: a reload shows it again and closes nothing)."""
    check_csrf(state, csrf_token)
    filters = AlertFilter(source="historical", status="open")
    if not alert_id:
        return _alerts_page(request, filters, state, work, 400, error="Check the leads to close first.")
    try:
        result = close_historical_leads(work, state.principal, alert_id, reason)
    except LeadsRefused as exc:
        return _alerts_page(request, filters, state, work, 400, error=str(exc))
    outcome = urlencode({"source": "historical", "status": "open", "closed": len(result.closed)})
    return RedirectResponse(f"/alerts?{outcome}&skipped={len(result.skipped)}", status_code=303)


@router.get("/alerts/figures")
def alert_figures_page(
    request: Request, state: Annotated[SessionState, Depends(requires("alerts.figures"))], work: DbWork
) -> Response:
    """Misread rate per camera and hits per list (aggregates, used by the audits)."""
    figures = alert_figures(work, state.principal)
    return render(request, "alert_figures.html", {"figures": figures})


def _detail_context(settings: Settings, detail: Any, refused: str | None) -> dict[str, Any]:
    alert, read = detail.alert, detail.read.read
    confusables = Confusables(settings.matching.confusable_pairs)
    left, right = char_diff(alert.matched_text, alert.entry.get("plate", ""), confusables)
    shown_left = char_diff(read.plate, alert.entry.get("plate", ""), confusables)[0]
    return {
        "a": detail.json,
        "alert": alert,
        "entry": alert.entry,
        "detail": detail.read,
        "read_chars": shown_left if alert.matched_via == "best" else left,
        "entry_chars": right,
        "candidates": sorted(read.candidates or [], key=lambda c: -float(c.get("confidence") or 0)),
        "choices": disposition_choices(alert, settings.alerts),
        "config": settings.alerts,
        "visual_match": VISUAL_MATCH,
        "refused": refused,
    }


@router.get("/alerts/{alert_id}")
def alert_page(
    alert_id: RowId,
    request: Request,
    state: Annotated[SessionState, Depends(requires("alerts.view"))],
    work: DbWork,
) -> Response:
    """One alert: crop, overview and entry side by side, candidates, differing characters, verification steps.
    Opened and worked under the alert's own purpose and reference (no form to fill: a search's context never
    labels alert work)."""
    try:
        detail = get_alert_detail(work, state.principal, alert_id, app_state(request).image_store)
    except AlertNotFound as exc:
        return render(request, "error.html", {"status": 404, "message": str(exc)}, 404)
    context = _detail_context(work.settings, detail, request.query_params.get("refused"))
    return render(
        request, "alert.html", {**context, "context": alert_context(work.settings, state.principal, detail.alert)}
    )


def _after_step(alert_id: RowId, run: Any) -> Response:
    try:
        run()
    except AlertNotFound as exc:
        return RedirectResponse(f"/alerts?refused={quote(str(exc))}", status_code=303)
    except AlertStepRefused as exc:  # the refusal is audited and committed; the page shows why
        return RedirectResponse(f"/alerts/{alert_id}?refused={quote(str(exc))}#workflow", status_code=303)
    return RedirectResponse(f"/alerts/{alert_id}#workflow", status_code=303)


Verify = Annotated[SessionState, Depends(requires("alerts.verify"))]
Csrf = Annotated[str, Form()]


@router.post("/alerts/{alert_id}/acknowledge")
def alert_acknowledge(alert_id: RowId, state: Verify, work: DbWork, csrf_token: Csrf = "") -> Response:
    """Acknowledge the alert."""
    check_csrf(state, csrf_token)
    return _after_step(alert_id, lambda: acknowledge(work, state.principal, alert_id))


@router.post("/alerts/{alert_id}/visual-check")
def alert_visual_check(
    alert_id: RowId,
    state: Verify,
    work: DbWork,
    csrf_token: Csrf = "",
    result: Annotated[str, Form(max_length=40)] = "",
    attested: Annotated[str, Form(max_length=8)] = "",
    corrected_plate: Annotated[str, Form(max_length=16)] = "",
    unreadable: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Record the visual check, and with a reject reason the plate's real text (or that it is unreadable)."""
    check_csrf(state, csrf_token)
    return _after_step(
        alert_id,
        lambda: record_visual_check(
            work,
            state.principal,
            alert_id,
            result=result,
            attested=attested == "yes",
            corrected_plate=corrected_plate or None,
            unreadable=unreadable == "yes",
        ),
    )


@router.post("/alerts/{alert_id}/clets")
def alert_clets(
    alert_id: RowId,
    state: Verify,
    work: DbWork,
    csrf_token: Csrf = "",
    result: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Record the CLETS confirmation."""
    check_csrf(state, csrf_token)
    return _after_step(
        alert_id, lambda: record_clets(work, state.principal, alert_id, result=result, reference=reference)
    )


@router.post("/alerts/{alert_id}/disposition")
def alert_disposition(
    alert_id: RowId,
    state: Verify,
    work: DbWork,
    csrf_token: Csrf = "",
    disposition: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Close the alert with a disposition (enforcement refused without both checks)."""
    check_csrf(state, csrf_token)
    return _after_step(alert_id, lambda: dispose(work, state.principal, alert_id, disposition=disposition, notes=notes))
