"""Pages for signing in (password, then the one-time code or the MFA enrolment) and the user's own account:
profile, training, MFA recovery codes, password and personal API tokens."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from platekeeper.access import lifecycle
from platekeeper.access.mfa import open_secret, provisioning_uri, qr_svg
from platekeeper.access.models import User
from platekeeper.access.service import SessionState, end_session
from platekeeper.access.signin import (
    SignInResult,
    complete_enrolment,
    complete_mfa,
    resolve_pending,
    sign_in,
    sign_in_rate_limited,
)
from platekeeper.access.tokens import TokenError, create_token, list_tokens, revoke_token
from platekeeper.access.training import training_records, training_status
from platekeeper.audit.work import Work
from platekeeper.web.deps import (
    PUBLIC,
    SESSION_COOKIE,
    SIGN_IN_STEP,
    SIGN_OUT,
    SIGNED_IN,
    DbWork,
    RowId,
    app_state,
    check_csrf,
    rate_limited_page,
    render,
)
from platekeeper.web.session_cookie import set_session_cookie

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Signed = Annotated[SessionState, Depends(SIGNED_IN)]


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _with_cookie(request: Request, work: Work, target: str, token: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token, work.settings)
    return response


@router.get("/login", dependencies=[Depends(PUBLIC)])
def login_page(request: Request, next: str = "/", locked: int = 0) -> Response:
    """The sign-in form (``locked=1``: the idle session lock sent the user here)."""
    notice = "Your session locked after a period without activity. Sign in again." if locked else None
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": "", "notice": notice})


@router.post("/login", dependencies=[Depends(PUBLIC)])
def login_submit(
    request: Request,
    work: DbWork,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; then the one-time code (or, the first time, the enrolment) comes next."""
    refusal = sign_in_rate_limited(work, app_state(request).rate_limits, username, "password")
    if refusal is not None:
        return rate_limited_page(request, refusal)
    result = sign_in(work, username, password)
    target = _safe_next(next)
    if result.token is None:
        context = {"next": target, "error": result.message, "username": username, "notice": None}
        return render(request, "login.html", context, 423 if result.outcome == "locked" else 401)
    if result.outcome in ("mfa", "enrol"):
        return _with_cookie(request, work, f"/login/{result.outcome}?{urlencode({'next': target})}", result.token)
    return _with_cookie(request, work, target, result.token)


def _step_failed(request: Request, template: str, result: SignInResult, context: dict[str, object]) -> Response:
    if result.outcome == "locked":
        response = render(
            request, "login.html", {"next": "/", "error": result.message, "username": "", "notice": None}, 423
        )
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return render(request, template, {**context, "error": result.message}, 401)


@router.get("/login/mfa", dependencies=[Depends(SIGN_IN_STEP)])
def mfa_page(request: Request, work: DbWork, next: str = "/") -> Response:
    """Second step: the 6-digit code from the authenticator app, or a recovery code."""
    pending = resolve_pending(work.session, work.settings, request.cookies.get(SESSION_COOKIE), "mfa")
    if pending is None:
        return RedirectResponse(f"/login?next={_safe_next(next)}", status_code=303)
    return render(request, "login_mfa.html", {"next": _safe_next(next), "error": None})


@router.post("/login/mfa", dependencies=[Depends(SIGN_IN_STEP)])
def mfa_submit(
    request: Request,
    work: DbWork,
    code: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the code; on success the full session starts under a new cookie."""
    pending = resolve_pending(work.session, work.settings, request.cookies.get(SESSION_COOKIE), "mfa")
    if pending is None:
        return RedirectResponse(f"/login?next={_safe_next(next)}", status_code=303)
    refusal = sign_in_rate_limited(work, app_state(request).rate_limits, pending.user.username, "one-time code")
    if refusal is not None:
        return rate_limited_page(request, refusal)
    result = complete_mfa(work, pending, code)
    if not result.ok or result.token is None:
        return _step_failed(request, "login_mfa.html", result, {"next": _safe_next(next)})
    return _with_cookie(request, work, _safe_next(next), result.token)


def _enrol_context(work: Work, sealed_secret: str, user: User, next: str) -> dict[str, object]:
    secret = open_secret(work.key, sealed_secret)
    uri = provisioning_uri(secret, user.username, work.settings.access.authentication.totp_issuer)
    return {"next": _safe_next(next), "qr": qr_svg(uri), "secret": secret, "error": None}


@router.get("/login/enrol", dependencies=[Depends(SIGN_IN_STEP)])
def enrol_page(request: Request, work: DbWork, next: str = "/") -> Response:
    """First sign-in: scan the QR code with an authenticator app, then type the code it shows."""
    pending = resolve_pending(work.session, work.settings, request.cookies.get(SESSION_COOKIE), "enrol")
    if pending is None or pending.row.pending_secret is None:
        return RedirectResponse(f"/login?next={_safe_next(next)}", status_code=303)
    return render(request, "login_enrol.html", _enrol_context(work, pending.row.pending_secret, pending.user, next))


@router.post("/login/enrol", dependencies=[Depends(SIGN_IN_STEP)])
def enrol_submit(
    request: Request,
    work: DbWork,
    code: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Confirm the enrolment with a code; show the recovery codes once; the session starts."""
    pending = resolve_pending(work.session, work.settings, request.cookies.get(SESSION_COOKIE), "enrol")
    if pending is None or pending.row.pending_secret is None:
        return RedirectResponse(f"/login?next={_safe_next(next)}", status_code=303)
    refusal = sign_in_rate_limited(work, app_state(request).rate_limits, pending.user.username, "enrolment code")
    if refusal is not None:
        return rate_limited_page(request, refusal)
    result = complete_enrolment(work, pending, code)
    if not result.ok or result.token is None:
        context = _enrol_context(work, pending.row.pending_secret, pending.user, next)
        return _step_failed(request, "login_enrol.html", result, context)
    response = render(
        request, "recovery_codes.html", {"codes": result.recovery_codes, "next": _safe_next(next), "first": True}
    )
    set_session_cookie(request, response, result.token, work.settings)
    return response


@router.post("/logout", dependencies=[Depends(SIGN_OUT)])
def logout(request: Request, work: DbWork) -> Response:
    """End the session and return to the sign-in page."""
    end_session(work, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _account_page(request: Request, work: Work, state: SessionState, **extra: object) -> Response:
    session, settings = work.session, work.settings
    user = session.get(User, state.principal.user_id)
    assert user is not None
    context = {
        "user": user,
        "courses": training_status(session, settings, user),
        "records": training_records(session, user.id),
        "tokens": list_tokens(session, user.id),
        "max_days": settings.access.authentication.token_max_days,
        "default_days": settings.access.authentication.token_default_days,
        "error": None,
        "message": None,
        "new_token": None,
        **extra,
    }
    return render(request, "account.html", context, 400 if extra.get("error") else 200)


@router.get("/account")
def account_page(request: Request, state: Signed, work: DbWork) -> Response:
    """Your profile, training, MFA, password and API tokens."""
    return _account_page(request, work, state)


@router.post("/account/password")
def account_password(
    request: Request,
    state: Signed,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change your password; your other sessions end."""
    check_csrf(state, csrf_token)
    try:
        lifecycle.change_password(
            work,
            state.principal.user_id,
            current=current_password,
            new=new_password,
            keep_session_id=state.session_id,
        )
    except lifecycle.AccountError as exc:
        return _account_page(request, work, state, error=str(exc))
    return _account_page(request, work, state, message="Password changed. Your other sessions were ended.")


@router.post("/account/recovery-codes")
def account_recovery_codes(
    request: Request, state: Signed, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """New recovery codes (the old ones stop working), shown once."""
    check_csrf(state, csrf_token)
    try:
        codes = lifecycle.regenerate_recovery_codes(work, state.principal.user_id)
    except lifecycle.AccountError as exc:
        return _account_page(request, work, state, error=str(exc))
    return render(request, "recovery_codes.html", {"codes": codes, "next": "/account", "first": False})


@router.post("/account/tokens")
def account_token_create(
    request: Request,
    state: Signed,
    work: DbWork,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=80)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_in_days: Annotated[int | None, Form(ge=1, le=365)] = None,
) -> Response:
    """Create a personal API token; it is shown on this page only."""
    check_csrf(state, csrf_token)
    try:
        _token, raw = create_token(
            work, state.principal, name=name, scopes=scopes or [], expires_in_days=expires_in_days
        )
    except TokenError as exc:
        return _account_page(request, work, state, error=str(exc))
    return _account_page(request, work, state, new_token=raw)


@router.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(
    token_id: RowId, request: Request, state: Signed, work: DbWork, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Revoke one of your tokens."""
    check_csrf(state, csrf_token)
    try:
        revoke_token(work, state.principal, token_id)
    except TokenError as exc:
        return _account_page(request, work, state, error=str(exc))
    return _account_page(request, work, state, message="Token revoked.")
