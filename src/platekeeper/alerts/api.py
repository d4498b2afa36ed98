"""JSON routes for alerts: the live stream (Server-Sent Events), the list, one alert, the verification steps."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from platekeeper.access.recheck import access_ended
from platekeeper.access.service import SessionState
from platekeeper.alerts.models import Alert
from platekeeper.alerts.service import (
    AlertFilter,
    AlertNotFound,
    AlertStepRefused,
    LeadsRefused,
    Source,
    StatusFilter,
    acknowledge,
    alert_figures,
    alert_json,
    close_historical_leads,
    dispose,
    disposition_choices,
    get_alert_detail,
    get_alert_image,
    latest_alert_id,
    list_alerts,
    record_clets,
    record_stream_opened,
    record_visual_check,
)
from platekeeper.alerts.stream import sse_events
from platekeeper.audit.work import Work
from platekeeper.reads.service import ReadNotFound
from platekeeper.web.deps import MAX_ROW_ID, DbWork, RowId, app_state, requires

__all__ = ["AlertQuery", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["alerts"])
Verify = Annotated[SessionState, Depends(requires("alerts.verify"))]


def alert_filter(
    source: Annotated[Source, Query(description="all, live hits only, or historical leads only")] = "all",
    status: Annotated[StatusFilter, Query(description="all, open (not closed), or one status")] = "all",
    hotlist_id: Annotated[
        str, Query(max_length=10, pattern=r"^[0-9]*$", description="Only this list's alerts (empty: any list)")
    ] = "",
    priority: Annotated[
        str, Query(max_length=1, pattern=r"^[1-5]?$", description="Only this priority, 1 to 5 (empty: any)")
    ] = "",
    page: Annotated[int, Query(ge=1, le=100_000, description="Which page, from 1")] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=500, description="Alerts per page (alerts.dashboard_size)")] = None,
) -> AlertFilter:
    """The alert list's filters from the query string: a bad value is a 422 naming the parameter. An empty list or
    priority (the page's "any") means no filter."""
    if hotlist_id and not 1 <= int(hotlist_id) <= MAX_ROW_ID:
        raise RequestValidationError(
            [{"loc": ("query", "hotlist_id"), "msg": f"a list id from 1 to {MAX_ROW_ID}", "type": "value_error"}]
        )
    return AlertFilter(
        source, status, int(hotlist_id) if hotlist_id else None, int(priority) if priority else None, page, page_size
    )


AlertQuery = Annotated[AlertFilter, Depends(alert_filter)]


@router.get("/alerts")
def api_list_alerts(
    filters: AlertQuery, state: Annotated[SessionState, Depends(requires("alerts.view"))], work: DbWork
) -> dict[str, Any]:
    """One page of alerts, newest sighting first, filtered as asked; audited (``alerts.dashboard``)."""
    page = list_alerts(work, state.principal, filters)
    return {"alerts": page.alerts, "total": page.total, "page": page.page, "pages": page.pages}


class LeadsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(
        min_length=1, max_length=1000, description="The historical alerts to close"
    )
    reason: str = Field(max_length=2000, description="Why these leads are closed (15 characters or more)")


@router.post("/alerts/leads/close", responses={400: {"description": "The reason is missing or too short"}})
def api_close_leads(
    body: LeadsIn, state: Annotated[SessionState, Depends(requires("alerts.close_leads"))], work: DbWork
) -> Response:
    """Close open historical leads in bulk, with one reason; live alerts and closed ones are skipped and listed.
    Each close is audited under the alert's own purpose and reference."""
    try:
        result = close_historical_leads(work, state.principal, body.alert_ids, body.reason)
    except LeadsRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    return JSONResponse({"closed": len(result.closed), "closed_ids": result.closed, "skipped": result.skipped})


_ALERT_ID = re.compile(r"[0-9]{1,19}")


def _alert_id(text: str, latest: int) -> int | None:
    """An alert id written in decimal, from 0 to the newest committed alert id, or None."""
    if not _ALERT_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= latest else None


def _resume_after(after: str | None, last_event_id: str, latest: int) -> tuple[int | None, str | None]:
    """The alert id the stream resumes after (a browser's Last-Event-ID wins over ``after``), or the problem with
    ``after``; a malformed Last-Event-ID is ignored, as browsers send it on their own."""
    cursor = None
    if after is not None:
        cursor = _alert_id(after, latest)
        if cursor is None:
            return None, f"after must be an alert id from 0 to {latest} (the newest alert), not {after[:40]!r}"
    reconnect = _alert_id(last_event_id, latest)
    return (reconnect if reconnect is not None else cursor), None


@router.get(
    "/alerts/stream",
    responses={
        400: {"description": "after is not an alert id from 0 to the newest alert's"},
        406: {"description": "The client does not accept text/event-stream"},
    },
)
def api_alert_stream(
    request: Request,
    state: Annotated[SessionState, Depends(requires("alerts.view"))],
    work: DbWork,
    after: Annotated[
        str | None, Query(description="The newest alert id the dashboard shows: the alerts above it come first")
    ] = None,
) -> Response:
    """New alerts as Server-Sent Events (``event: alert``, JSON data). Opening the stream is audited.

    With ``after`` (the dashboard's first connection) or a ``Last-Event-ID`` header (a browser reconnecting; it wins
    over ``after``), the stream first sends the dashboard alerts above that id it missed, oldest first, at most
    ``alerts.stream_replay_limit`` (the newest). A bad ``after`` is refused (400); a malformed ``Last-Event-ID``
    is ignored (browsers send it on their own), as if absent. Every ``alerts.stream_recheck_seconds`` the stream
    checks its session or token, the account and its training again; when any has ended it sends ``event: ended``
    with the reason and closes.
    """
    if "text/event-stream" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": "this stream needs Accept: text/event-stream (use EventSource)"}, 406)
    app, session = app_state(request), work.session
    cursor, problem = _resume_after(after, request.headers.get("last-event-id", ""), latest_alert_id(session))
    if problem:
        return JSONResponse({"detail": problem}, 400)
    record_stream_opened(work, state.principal, cursor)
    session.commit()  # the stream outlives the request's transaction; never hold it (SQLite's write lock) open
    runtime = app.services.alerting
    broker = runtime.broker
    keepalive = app.settings.alerts.stream_keepalive_seconds

    def still_allowed() -> str | None:  # read-only: the stream does not keep an idle session alive
        with app.database.read_connection() as conn, Session(bind=conn) as check:
            return access_ended(check, app.settings, state, "alerts.view")

    async def ended() -> str | None:
        return await run_in_threadpool(still_allowed)

    async def body() -> Any:
        subscriber = broker.subscribe()  # first, so an alert committed during the replay read comes live
        try:
            try:
                replay = None if cursor is None else await run_in_threadpool(runtime.replay, cursor)
            except Exception:  # end the stream: the browser reconnects and asks again from the same id
                log.exception("alert stream: could not read the alerts missed since %s", cursor)
                return
            recheck = app.settings.alerts.stream_recheck_seconds
            async for chunk in sse_events(subscriber, keepalive, replay, access_ended=ended, recheck_seconds=recheck):
                yield chunk
        finally:
            broker.unsubscribe(subscriber)

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )


@router.get("/alerts/figures")
def api_alert_figures(
    state: Annotated[SessionState, Depends(requires("alerts.figures"))], work: DbWork
) -> dict[str, Any]:
    """Misread rate per camera (from dispositions) and hits per list; aggregates only."""
    return alert_figures(work, state.principal)


@router.get(
    "/alerts/{alert_id}",
    responses={404: {"description": "No such alert"}},
)
def api_get_alert(
    alert_id: RowId,
    request: Request,
    state: Annotated[SessionState, Depends(requires("alerts.view"))],
    work: DbWork,
) -> Response:
    """One alert with its hotlist entry, the read's OCR candidates and image links. Audited under the alert's own
    purpose (its list's kind) and reference (``ALERT-<id>`` and the entry's NIC number); a stated search context is
    not used for alert work."""
    try:
        detail = get_alert_detail(work, state.principal, alert_id, app_state(request).image_store)
    except AlertNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    read = detail.read.read
    choices = disposition_choices(detail.alert, work.settings.alerts)
    return JSONResponse(
        {
            **detail.json,
            "entry": detail.alert.entry,
            "read": {
                "plate_raw": read.plate_raw,
                "confidence": read.confidence,
                "region": read.region,
                "candidates": read.candidates or [],
                "images": {kind: f"/api/v1/alerts/{alert_id}/images/{kind}" for kind in detail.read.images},
            },
            "verification": _steps_json(detail.alert),
            "dispositions": [c.__dict__ for c in choices],
        }
    )


@router.get("/alerts/{alert_id}/images/{kind}", responses={404: {"description": "No such alert or image"}})
def api_get_alert_image(
    alert_id: RowId,
    kind: Annotated[str, FastPath(max_length=16, description="crop or overview")],
    request: Request,
    state: Annotated[SessionState, Depends(requires("alerts.view"))],
    work: DbWork,
) -> Response:
    """The plate crop or overview of an alert's read, audited under the alert's own purpose and reference."""
    try:
        image = get_alert_image(work, state.principal, alert_id, kind, app_state(request).image_store)
    except (AlertNotFound, ReadNotFound) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return Response(image.data, media_type=image.media_type)


def _steps_json(alert: Any) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "acknowledged": {"by": alert.acknowledged_by, "at": when(alert.acknowledged_at)},
        "visual_check": {"result": alert.visual_result, "by": alert.visual_by, "at": when(alert.visual_at)},
        "clets": {
            "result": alert.clets_result,
            "reference": alert.clets_reference,
            "by": alert.clets_by,
            "at": when(alert.clets_at),
        },
        "disposition": {"code": alert.disposition, "by": alert.disposition_by, "at": when(alert.disposition_at)},
    }


class VisualIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str = Field(max_length=40, description="match, or a reject reason from alerts.reject_reasons")
    attested: bool = Field(description="I compared the plate image, the state and the vehicle with the entry")
    corrected_plate: str | None = Field(
        None, max_length=16, description="With a reject reason: what the plate really says (the read keeps its text)"
    )
    unreadable: bool = Field(False, description="With a reject reason: the plate cannot be read at all")


class CletsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str = Field(max_length=40, description="A result code from alerts.clets_results")
    reference: str = Field(max_length=40, description="The CLETS message reference number")


class DispositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disposition: str = Field(max_length=40, description="A code from alerts.dispositions")
    notes: str = Field("", max_length=2000)


def _step(work: Work, run: Callable[[], Alert]) -> Response:
    try:
        alert = run()
    except AlertNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except AlertStepRefused as exc:  # returned, not raised, so the audited refusal commits
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return JSONResponse({**alert_json(alert, work.settings), "verification": _steps_json(alert)})


@router.post(
    "/alerts/{alert_id}/acknowledge",
    responses={404: {"description": "No such alert"}, 409: {"description": "Out of order"}},
)
def api_acknowledge(alert_id: RowId, state: Verify, work: DbWork) -> Response:
    """Step 1 -> 2: acknowledge a new alert."""
    return _step(work, lambda: acknowledge(work, state.principal, alert_id))


@router.post(
    "/alerts/{alert_id}/visual-check",
    responses={404: {"description": "No such alert"}, 409: {"description": "Out of order or not attested"}},
)
def api_visual_check(alert_id: RowId, body: VisualIn, state: Verify, work: DbWork) -> Response:
    """Step 3: attest the visual check (match, or misread / wrong state / vehicle differs)."""
    return _step(work, lambda: record_visual_check(work, state.principal, alert_id, **body.model_dump()))


@router.post(
    "/alerts/{alert_id}/clets",
    responses={404: {"description": "No such alert"}, 409: {"description": "Out of order or bad reference"}},
)
def api_clets(alert_id: RowId, body: CletsIn, state: Verify, work: DbWork) -> Response:
    """Step 4: record the CLETS confirmation (result and reference number)."""
    return _step(work, lambda: record_clets(work, state.principal, alert_id, **body.model_dump()))


@router.post(
    "/alerts/{alert_id}/disposition",
    responses={404: {"description": "No such alert"}, 409: {"description": "Refused (e.g. enforcement unchecked)"}},
)
def api_disposition(alert_id: RowId, body: DispositionIn, state: Verify, work: DbWork) -> Response:
    """Step 5: close the alert. Enforcement is refused without a visual match and a CLETS confirmation (462.8)."""
    return _step(work, lambda: dispose(work, state.principal, alert_id, **body.model_dump()))
