"""JSON routes for hotlists: list them, create one, import a file, see and add entries (with a stated purpose)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from platekeeper.access.service import SessionState
from platekeeper.db import json_fields, utcnow
from platekeeper.hotlists.importers import ImportSpec, parse_mapping
from platekeeper.hotlists.service import (
    EntryInput,
    HistoricalHit,
    HotlistError,
    HotlistSummary,
    ImportRejected,
    add_officer_entry,
    create_hotlist,
    import_entries,
    list_entries,
    list_hotlists,
)
from platekeeper.web.access_params import require_access_context, stated_context
from platekeeper.web.deps import DbWork, RowId, app_state, requires

__all__ = ["router", "summary_json"]

router = APIRouter(prefix="/api/v1", tags=["hotlists"])


SUMMARY_FIELDS = ("id", "name", "kind", "kind_label", "source", "refresh_hours", "loaded_at", "entries", "stale")


def summary_json(h: HotlistSummary) -> dict[str, Any]:
    """A list without its entries."""
    return json_fields(h, *SUMMARY_FIELDS)


def _bad(exc: Exception, status: int = 400) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status)


@router.get("/hotlists")
def api_list_hotlists(
    state: Annotated[SessionState, Depends(requires("hotlists.view"))], work: DbWork
) -> dict[str, Any]:
    """Every hotlist with its kind, source, load time, cadence, live entry count and staleness (no entries)."""
    return {"hotlists": [summary_json(h) for h in list_hotlists(work.session, work.settings, utcnow())]}


class HotlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=80)
    kind: str = Field(max_length=40)
    source: str = Field(max_length=200)
    refresh_hours: int | None = Field(None, description="Refresh cadence; empty for a list without one")


@router.post("/hotlists", status_code=201, responses={400: {"description": "A rule on lists broken"}})
def api_create_hotlist(
    body: HotlistIn, state: Annotated[SessionState, Depends(requires("hotlists.manage"))], work: DbWork
) -> Response:
    """Create an empty list. Refused: unknown or refused kinds (e.g. immigration violators), duplicate names."""
    try:
        hotlist = create_hotlist(work, **body.model_dump())
    except HotlistError as exc:
        return _bad(exc)
    return JSONResponse({"id": hotlist.id, "name": hotlist.name}, status_code=201)


@router.post(
    "/hotlists/{hotlist_id}/import",
    responses={
        400: {"description": "The options or the file broken"},
        404: {"description": "No such list"},
        422: {"description": "Bad rows; nothing was loaded"},
    },
)
async def api_import(
    hotlist_id: RowId,
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.manage"))],
    work: DbWork,
    mode: Annotated[Literal["full", "incremental"], Query(description="full replaces the list")] = "full",
    format: Annotated[Literal["csv", "fixed"], Query(description="delimited text or fixed width")] = "csv",
    delimiter: Annotated[str, Query(min_length=1, max_length=2, description="e.g. , ; | or \\t")] = ",",
    header: Annotated[bool, Query(description="The first line names the columns")] = True,
    mapping: Annotated[str, Query(max_length=500, description="FIELD=COLUMN,... e.g. plate=PlateNumber")] = "",
    default_kind: Annotated[
        str | None, Query(max_length=40, description="Kind for rows without a category (default: the list's kind)")
    ] = None,
    file_name: Annotated[str, Query(max_length=200)] = "upload",
) -> Response:
    """Load the request body (the file itself) into a list, all or nothing; bad rows come back with line numbers.

    Once loaded, past reads are searched in the background for the plates new to the list (``new_plates``); the
    hits arrive on the dashboards as historical alerts.
    """
    data = await request.body()
    try:
        spec = ImportSpec(
            format=format,
            delimiter="\t" if delimiter == "\\t" else delimiter,
            header=header,
            mapping=parse_mapping(mapping),
            default_kind=default_kind,
        )
        outcome = import_entries(work, hotlist_id, data, spec, mode=mode, file_name=file_name)
    except ImportRejected as exc:
        errors = [{"line": e.line, "message": e.message} for e in exc.errors]
        return JSONResponse({"detail": str(exc), "bad_rows": exc.error_count, "errors": errors}, status_code=422)
    except (HotlistError, ValueError) as exc:
        return _bad(exc)
    for hook in app_state(request).services.after_import:  # the matcher's reload, the historical-hit search
        hook(work, outcome, file_name)
    return JSONResponse(outcome.as_dict())


def _hit_json(hit: HistoricalHit, camera_names: dict[int, str]) -> dict[str, Any]:
    read, match = hit.read, hit.match
    return {
        "read_id": str(read.id),
        "captured_at": read.captured_at.isoformat(),
        "camera": {"id": read.camera_id, "name": camera_names.get(read.camera_id)},
        "plate": read.plate,
        "confidence": read.confidence,
        "matched_text": match.text,
        "matched_via": match.via,
        "match_kind": match.kind,
        "state_mismatch": match.state_mismatch,
    }


@router.get(
    "/hotlists/{hotlist_id}/entries",
    responses={400: {"description": "Missing purpose or case number"}, 404: {"description": "No such list"}},
)
def api_list_entries(
    hotlist_id: RowId,
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.entries"))],
    work: DbWork,
    plate: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A page of a list's entries. Plate data: needs a purpose, case number and justification; audited."""
    ctx = require_access_context(
        work, state.principal, stated_context(request), "hotlists.entries_view", {"hotlist_id": hotlist_id}
    )
    try:
        hotlist, rows, total = list_entries(work, ctx, hotlist_id, plate=plate, page=page)
    except HotlistError as exc:
        return _bad(exc, 404)
    return JSONResponse({"hotlist": {"id": hotlist.id, "name": hotlist.name}, "total": total, "entries": rows})


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plate: str = Field(max_length=16)
    state: str | None = Field(None, max_length=2)
    reason: str = Field("", max_length=200)
    nic: str | None = Field(None, max_length=16)
    make: str | None = Field(None, max_length=40)
    model: str | None = Field(None, max_length=40)
    color: str | None = Field(None, max_length=40)
    expires_at: datetime | None = Field(None, description="At most hotlists.officer_entry_days ahead (default)")
    notes: str = Field("", max_length=2000)


@router.post(
    "/hotlists/{hotlist_id}/entries",
    status_code=201,
    responses={
        400: {"description": "A rule on entries broken, or no access context"},
        404: {"description": "No such list"},
    },
)
def api_add_entry(
    hotlist_id: RowId,
    body: EntryIn,
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.entries"))],
    work: DbWork,
) -> Response:
    """Add an officer entry (expires within 30 days by default) and get the historical hits in past reads."""
    ctx = require_access_context(
        work, state.principal, stated_context(request), "hotlists.entry_add", {"hotlist_id": hotlist_id}
    )
    try:
        result = add_officer_entry(work, ctx, hotlist_id, EntryInput(**body.model_dump()))
    except HotlistError as exc:
        return _bad(exc)
    app_state(request).services.matcher.reload_after_commit(work.session)
    return JSONResponse(
        {
            "entry": result.entry,
            "historical_hits": [_hit_json(h, result.camera_names) for h in result.historical_hits],
            "historical_hits_found": result.hits_found,
            "reads_searched": result.reads_searched,
        },
        status_code=201,
    )
