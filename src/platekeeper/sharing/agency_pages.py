"""The agency registry pages: the list with the form to add an agency, and one agency's page with the form to
change it, over the same service call as the API (``save_agency``, audited with each field before and after)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from platekeeper.access.service import SessionState
from platekeeper.sharing.models import AGENCY_KINDS, JURISDICTIONS
from platekeeper.sharing.pages import DONE, said
from platekeeper.sharing.service import (
    AgencyIn,
    SharingNotFound,
    SharingRefused,
    get_agency,
    list_agencies,
    save_agency,
)
from platekeeper.web.deps import DbWork, RowId, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Intake = Annotated[SessionState, Depends(requires("sharing.intake"))]
Csrf = Annotated[str, Form()]
Name = Annotated[str, Form(max_length=200)]
Code = Annotated[str, Form(max_length=32)]
Ori = Annotated[str, Form(max_length=9)]
Long = Annotated[str, Form(max_length=1000)]


def _agencies_page(request: Request, work: DbWork, status: int = 200, **extra: Any) -> Response:
    context = {"agencies": list_agencies(work), "kinds": AGENCY_KINDS, "jurisdictions": JURISDICTIONS,
               "form": {}, "error": None, "done": DONE.get(request.query_params.get("done", "")), **extra}  # fmt: skip
    return render(request, "sharing_agencies.html", context, status)


def _agency_page(request: Request, work: DbWork, agency_id: int, status: int = 200, **extra: Any) -> Response:
    try:
        agency = get_agency(work, agency_id)
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    form = {key: getattr(agency, key) or "" for key in ("name", "kind", "jurisdiction", "ori", "address", "contacts")}
    context = {"agency": agency, "kinds": AGENCY_KINDS, "jurisdictions": JURISDICTIONS, "form": form, "error": None,
               "done": DONE.get(request.query_params.get("done", "")), **extra}  # fmt: skip
    return render(request, "sharing_agency.html", context, status)


@router.get("/sharing/agencies")
def agencies_page(request: Request, state: Intake, work: DbWork) -> Response:
    """The agency registry and the form to add an agency."""
    return _agencies_page(request, work)


@router.post("/sharing/agencies")
def agencies_add(
    request: Request, state: Intake, work: DbWork, csrf_token: Csrf = "", name: Name = "", kind: Code = "",
    jurisdiction: Code = "", ori: Ori = "", address: Long = "", contacts: Long = "",
) -> Response:  # fmt: skip
    """Add an agency (audited)."""
    check_csrf(state, csrf_token)
    form = {"name": name, "kind": kind, "jurisdiction": jurisdiction, "ori": ori, "address": address,
            "contacts": contacts}  # fmt: skip
    try:
        agency = AgencyIn(name, kind, jurisdiction, ori=ori or None, address=address, contacts=contacts)
        save_agency(work, state.principal, agency)
    except SharingRefused as exc:
        return _agencies_page(request, work, 400, error=said(exc), form=form)
    return RedirectResponse("/sharing/agencies?done=agency", 303)


@router.get("/sharing/agencies/{agency_id}")
def agency_page(agency_id: RowId, request: Request, state: Intake, work: DbWork) -> Response:
    """One agency and the form to change it."""
    return _agency_page(request, work, agency_id)


@router.post("/sharing/agencies/{agency_id}")
def agency_change(
    agency_id: RowId, request: Request, state: Intake, work: DbWork, csrf_token: Csrf = "", name: Name = "",
    kind: Code = "", jurisdiction: Code = "", ori: Ori = "", address: Long = "", contacts: Long = "",
) -> Response:  # fmt: skip
    """Change an agency (audited: each field before and after); its partner agreement is kept as it is."""
    check_csrf(state, csrf_token)
    form = {"name": name, "kind": kind, "jurisdiction": jurisdiction, "ori": ori, "address": address,
            "contacts": contacts}  # fmt: skip
    try:
        row = get_agency(work, agency_id)
        agency = AgencyIn(
            name, kind, jurisdiction, ori=ori or None, address=address, contacts=contacts,
            partner_agreement_until=row.partner_agreement_until, partner_max_days=row.partner_max_days,
        )  # fmt: skip
        save_agency(work, state.principal, agency, agency_id)
    except SharingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except SharingRefused as exc:
        return _agency_page(request, work, agency_id, 400, error=said(exc), form=form)
    return RedirectResponse(f"/sharing/agencies/{agency_id}?done=agency_changed", 303)
