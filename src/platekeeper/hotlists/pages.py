"""Hotlist management pages: the lists and their staleness, create, import a file, entries, officer entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from platekeeper.access.service import SessionState, remember_access_context
from platekeeper.audit.work import Work
from platekeeper.db import utcnow
from platekeeper.hotlists.importers import ImportSpec, parse_mapping
from platekeeper.hotlists.service import (
    EntryInput,
    HotlistError,
    ImportRejected,
    add_officer_entry,
    create_hotlist,
    import_entries,
    list_entries,
    list_hotlists,
)
from platekeeper.web.access_params import StatedContext, require_access_context, stated_context
from platekeeper.web.deps import MAX_ROW_ID, DbWork, RowId, app_state, check_csrf, render, requires
from platekeeper.web.nul import NUL_MESSAGE

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form()]


def _page(request: Request, work: Work, state: SessionState, status: int = 200, **extra: Any) -> Response:
    settings = work.settings
    context = {
        "hotlists": list_hotlists(work.session, settings, utcnow()),
        "kinds": settings.hotlists.kinds,
        "officer_days": settings.hotlists.officer_entry_days,
        "form": (state.access_context or {}),
        "problems": {},
        "error": None,
        "message": None,
        "import_errors": [],
        "added": None,
        **extra,
    }
    return render(request, "hotlists.html", context, status)


@router.get("/hotlists")
def hotlists_page(
    request: Request, state: Annotated[SessionState, Depends(requires("hotlists.view"))], work: DbWork
) -> Response:
    """Every list: kind, source, loaded at, cadence, entries, stale or not; forms by permission."""
    return _page(request, work, state)


@router.post("/hotlists")
def hotlists_create(
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.manage"))],
    work: DbWork,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(max_length=80)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
    refresh_hours: Annotated[str, Form(max_length=6)] = "",
) -> Response:
    """Create a list."""
    check_csrf(state, csrf_token)
    try:
        hours = int(refresh_hours) if refresh_hours.strip() else None
        create_hotlist(work, name=name, kind=kind, source=source, refresh_hours=hours)
    except (HotlistError, ValueError) as exc:
        return _page(request, work, state, 400, error=str(exc))
    return _page(request, work, state, message=f"List {name} created.")


@router.post("/hotlists/import")
async def hotlists_import(
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.manage"))],
    work: DbWork,
    file: Annotated[UploadFile, File()],
    hotlist_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    csrf_token: Csrf = "",
    mode: Annotated[str, Form(max_length=12)] = "full",
    format: Annotated[str, Form(max_length=8)] = "csv",
    delimiter: Annotated[str, Form(max_length=2)] = ",",
    mapping: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Import an uploaded file into a list, all or nothing; bad rows are listed with their line numbers."""
    check_csrf(state, csrf_token)
    texts = {"file": file.filename or "", "mode": mode, "format": format, "delimiter": delimiter, "mapping": mapping}
    with_nul = next((name for name, text in texts.items() if "\x00" in text), None)
    if with_nul:  # a multipart form: RefuseNul in front of every route does not parse it
        return _page(request, work, state, 422, error=f"{with_nul}: {NUL_MESSAGE}")
    data = await file.read()
    try:
        if mode not in ("full", "incremental") or format not in ("csv", "fixed"):
            raise HotlistError("mode: full or incremental; format: csv or fixed")
        spec = ImportSpec(
            format=format,  # type: ignore[arg-type]
            delimiter="\t" if delimiter in ("\\t", "tab") else (delimiter or ","),
            mapping=parse_mapping(mapping),
        )
        outcome = import_entries(
            work,
            hotlist_id,
            data,
            spec,
            mode=mode,  # type: ignore[arg-type]
            file_name=file.filename or "upload",
        )
    except ImportRejected as exc:
        return _page(request, work, state, 422, error=str(exc), import_errors=exc.errors)
    except (HotlistError, ValueError) as exc:
        return _page(request, work, state, 400, error=str(exc))
    for hook in app_state(request).services.after_import:  # the matcher's reload, the historical-hit search
        hook(work, outcome, file.filename or "upload")
    message = f"Loaded {outcome.loaded} entries ({outcome.mode}); {outcome.removed} replaced or removed."
    if outcome.new_plates:
        message += (
            f" Past reads are being searched for the {len(outcome.new_plates)} plate(s) new to the list; hits appear"
            " on the alert dashboard marked historical (past reads, not live sightings)."
        )
    return _page(request, work, state, message=message)


def _entry_input(form: dict[str, str], tz: Any) -> EntryInput:
    expires = None
    if form.get("expires_at"):
        try:
            expires = datetime.fromisoformat(form["expires_at"]).replace(hour=23, minute=59, tzinfo=tz)
        except ValueError:
            raise HotlistError("expires_at: not a date (YYYY-MM-DD)") from None
    fields = ("plate", "state", "reason", "nic", "make", "model", "color", "notes")
    return EntryInput(**{k: form.get(k, "") for k in fields}, expires_at=expires)


@router.post("/hotlists/entries")
async def hotlists_add_entry(
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.entries"))],
    work: DbWork,
) -> Response:
    """Add an officer entry and show the historical hits found in past reads."""
    form = {k: str(v)[:2000] for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(state, form.get("csrf_token"))
    hotlist_id = int(form["hotlist_id"]) if form.get("hotlist_id", "").isdigit() else 0
    stated = StatedContext(form.get("purpose"), form.get("case_number"), form.get("justification"))
    ctx = require_access_context(
        work,
        state.principal,
        stated,
        "hotlists.entry_add",
        {"hotlist_id": hotlist_id},
        page=lambda fresh, problems: _page(
            request, fresh, state, 400, form=form, problems=problems, error="State the purpose first."
        ),
    )
    try:
        result = add_officer_entry(work, ctx, hotlist_id, _entry_input(form, work.settings.tz))
    except HotlistError as exc:
        return _page(request, work, state, 400, form=form, error=str(exc))
    remember_access_context(work.session, state.session_id, ctx.as_dict())
    app_state(request).services.matcher.reload_after_commit(work.session)
    return _page(request, work, state, form=ctx.as_dict(), added=result)


@router.get("/hotlists/{hotlist_id}")
def hotlist_entries_page(
    hotlist_id: RowId,
    request: Request,
    state: Annotated[SessionState, Depends(requires("hotlists.entries"))],
    work: DbWork,
) -> Response:
    """The entries of one list (plate data: needs a stated purpose; audited)."""
    stated = stated_context(request, fallback=state.access_context)
    ctx = require_access_context(
        work,
        state.principal,
        stated,
        "hotlists.entries_view",
        {"hotlist_id": hotlist_id},
        page=lambda _, problems: render(
            request, "hotlist.html", {"hotlist_id": hotlist_id, "form": stated.as_dict(), "problems": problems}, 400
        ),
    )
    page = int(request.query_params.get("page", "1")) if request.query_params.get("page", "1").isdigit() else 1
    plate = request.query_params.get("plate") or None
    try:
        hotlist, rows, total = list_entries(work, ctx, hotlist_id, plate=plate, page=max(page, 1))
    except HotlistError as exc:
        return render(request, "error.html", {"status": 404, "message": str(exc)}, 404)
    remember_access_context(work.session, state.session_id, ctx.as_dict())
    return render(
        request,
        "hotlist.html",
        {
            "hotlist": hotlist,
            "entries": rows,
            "total": total,
            "page": page,
            "context": ctx,
            "problems": {},
            "plate": plate,
        },
    )
