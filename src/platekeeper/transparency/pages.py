"""The public pages: the posted usage and privacy policy (``/policy``, its versions, its PDF) and the transparency
page (``/transparency``), with no sign-in; and the administrator's preview of the transparency page before the
agency publishes it (``/transparency/preview``, ``transparency.preview``).

The policy cannot be turned off: the law requires it posted, so ``/policy`` always answers. The transparency page
answers 404 with a notice pointing to the policy until ``transparency.published`` is on; the preview shows the
draft, computed fresh, either way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from platekeeper.access.service import SessionState
from platekeeper.transparency.api import NOT_PUBLISHED
from platekeeper.transparency.documents import policy_body, policy_pdf
from platekeeper.transparency.models import PolicyVersion
from platekeeper.transparency.service import VersionNotFound, current_policy, policy_version, policy_versions
from platekeeper.web.deps import PUBLIC, DbWork, RowId, app_state, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Anyone = Annotated[None, Depends(PUBLIC)]
Previewer = Annotated[SessionState, Depends(requires("transparency.preview"))]
Format = Annotated[Literal["html", "pdf", "json"], Query(description="html (the page), pdf or json")]


def _policy(request: Request, work: DbWork, version: PolicyVersion, fmt: str, latest: int) -> Response:
    if fmt == "pdf":
        headers = {"content-disposition": f'attachment; filename="alpr-policy-v{version.number}.pdf"'}
        return Response(policy_pdf(version, work.settings), media_type="application/pdf", headers=headers)
    if fmt == "json":
        return JSONResponse(
            {
                "version": version.number,
                "effective_at": version.effective_at.isoformat(),
                "sha256": version.sha256,
                "current": version.number == latest,
                "document": version.document,
            }
        )
    context = {"version": version, "body": policy_body(version), "latest": latest}
    return render(request, "policy.html", context)


@router.get("/policy")
def policy_page(request: Request, _: Anyone, work: DbWork, format: Format = "html") -> Response:
    """The usage and privacy policy in effect, generated from the config the system enforces (Civil Code
    1798.90.51(b)): to read, print, download as PDF, or as JSON."""
    version = current_policy(work)
    return _policy(request, work, version, format, version.number)


@router.get("/policy/versions")
def policy_versions_page(request: Request, _: Anyone, work: DbWork) -> Response:
    """Every version of the policy with the date it took effect, newest first."""
    current = current_policy(work)
    return render(request, "policy_versions.html", {"versions": policy_versions(work), "current": current})


@router.get("/policy/versions/{number}")
def policy_version_page(number: RowId, request: Request, _: Anyone, work: DbWork, format: Format = "html") -> Response:
    """One version of the policy as it was posted."""
    current = current_policy(work)
    try:
        version = policy_version(work, number)
    except VersionNotFound as exc:
        raise HTTPException(404, f"{exc}; the versions are listed at /policy/versions") from None
    return _policy(request, work, version, format, current.number)


def _count(value: Any) -> str:
    if isinstance(value, dict):
        return f"fewer than {value['fewer_than']}"
    return f"{value:,}"


def _bars(rows: list[dict[str, Any]], label: str, key: str = "count") -> list[dict[str, Any]]:
    """Chart bars (``_charts.html``): a hidden count is drawn empty and labelled 'fewer than N'; no chart at all
    (an empty list) when no bar would show (the table beside it says the same)."""
    bars = [
        {"label": str(r[label]), "value": 0 if isinstance(r[key], dict) else r[key], "text": _count(r[key])}
        for r in rows
    ]
    return bars if any(bar["value"] for bar in bars) else []


def _transparency(request: Request, work: DbWork, *, preview: bool) -> Response:
    face = app_state(request).services.public_face
    figures = face.figures(work, fresh=preview)
    charts = {
        "kinds": _bars(figures.get("cameras", {}).get("by_kind", []), "kind"),
        "dispositions": _bars(figures.get("alerts", {}).get("dispositions", []), "label"),
        "purposes": _bars(figures.get("searches", {}).get("by_purpose", []), "purpose"),
        "recipients": _bars(figures.get("sharing", {}).get("recipients", []), "agency", "releases"),
    }
    config = work.settings.transparency
    context = {
        "f": figures,
        "charts": charts,
        "preview": preview,
        "published": config.published,
        "cache_minutes": config.cache_minutes,
    }
    return render(request, "transparency.html", context)


@router.get("/transparency")
def transparency_page(request: Request, _: Anyone, work: DbWork) -> Response:
    """Live aggregate figures of the system's use (no plate, user, case number or justification), or a notice
    until the agency publishes the page."""
    if not work.settings.transparency.published:
        return render(request, "transparency_unpublished.html", {"message": NOT_PUBLISHED}, 404)
    return _transparency(request, work, preview=False)


@router.get("/transparency/preview")
def transparency_preview(request: Request, _: Previewer, work: DbWork) -> Response:
    """The transparency page as the public would see it, computed now, published or not."""
    return _transparency(request, work, preview=True)
