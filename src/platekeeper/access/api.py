"""JSON routes for signing in and out, the caller's own account (training, tokens) and the permission matrix.

API clients sign in with the password and the one-time code in one request (``code``: the 6-digit TOTP code or a
recovery code) and keep the session cookie, or use a personal API token (``Authorization: Bearer pkt_...``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from platekeeper.access.matrix import permission_matrix
from platekeeper.access.models import ApiToken, User
from platekeeper.access.service import SessionState, end_session, open_session_csrf
from platekeeper.access.signin import sign_in, sign_in_rate_limited
from platekeeper.access.tokens import TokenError, create_token, list_tokens, revoke_token
from platekeeper.access.training import CourseStatus, training_status
from platekeeper.db import json_fields
from platekeeper.permissions import PERMISSIONS
from platekeeper.web.deps import (
    PUBLIC,
    SESSION_COOKIE,
    SIGN_OUT,
    SIGNED_IN,
    DbSession,
    DbWork,
    RowId,
    app_state,
    rate_limited_json,
)
from platekeeper.web.session_cookie import set_session_cookie

__all__ = ["course_json", "router", "token_json"]

router = APIRouter(prefix="/api/v1", tags=["session"])
Signed = Annotated[SessionState, Depends(SIGNED_IN)]
STATUS_FOR = {"mfa_required": 401, "enrol_required": 403, "locked": 423, "failed": 401}


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(None, max_length=40, description="6-digit TOTP code, or a recovery code.")


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=80, description="What the token is for.")
    scopes: list[str] = Field(
        min_length=1,
        max_length=len(PERMISSIONS),
        description="Permission names the token may use (from the catalogue).",
    )
    expires_in_days: int | None = Field(None, ge=1, le=365)


def course_json(status: CourseStatus) -> dict[str, Any]:
    """A course status as JSON."""
    return json_fields(
        status, "title", "required", "state", "completed_on", "expires_on", "problem", "demo", course=status.code
    )


def token_json(token: ApiToken) -> dict[str, Any]:
    """A token without its secret."""
    return json_fields(
        token,
        *("id", "name", "scopes", "created_at", "expires_at", "last_used_at"),
        prefix=token.token_prefix,
        revoked=token.revoked_at is not None,
    )


@router.post(
    "/session",
    dependencies=[Depends(PUBLIC)],
    responses={
        401: {"description": "Wrong username, password or one-time code, or the code is missing"},
        403: {"description": "The account must enrol a second factor first (on the sign-in page)"},
        423: {"description": "The account is locked after failed sign-ins"},
        429: {"description": "Too many sign-in attempts for this account or from this address (Retry-After)"},
    },
)
def api_sign_in(body: SignIn, request: Request, response: Response, work: DbWork) -> Any:
    """Sign in with the password and the one-time code; the session cookie is set on the response.

    The answer's ``csrf_token`` goes with every state-changing call made with that cookie, as ``X-CSRF-Token``.
    Over a sign-in rate limit the answer is 429 with ``Retry-After``, and nothing is checked."""
    step = "password and one-time code" if body.code else "password"
    refusal = sign_in_rate_limited(work, app_state(request).rate_limits, body.username, step)
    if refusal is not None:
        return rate_limited_json(refusal)
    result = sign_in(work, body.username, body.password, code=body.code, interactive=False)
    if not result.ok or result.token is None or result.user is None:
        payload = {"detail": result.message, "mfa_required": result.outcome == "mfa_required"}
        return JSONResponse(payload, status_code=STATUS_FOR.get(result.outcome, 401))
    set_session_cookie(request, response, result.token, work.settings)
    csrf = open_session_csrf(work.session, result.token)
    return {"username": result.user.username, "role": result.user.role, "csrf_token": csrf}


@router.delete("/session", dependencies=[Depends(SIGN_OUT)])
def api_sign_out(request: Request, response: Response, work: DbWork) -> dict[str, Any]:
    """Sign out: the session ends on the server and the cookie is cleared."""
    ended = end_session(work, request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"signed_out": ended}


@router.get("/me")
def api_me(session: DbSession, state: Signed, work: DbWork) -> dict[str, Any]:
    """Who is signed in, what their role may do, and their training status."""
    p = state.principal
    user = session.get(User, p.user_id)
    courses = training_status(session, work.settings, user) if user else []
    return {
        "username": p.username,
        "display_name": p.display_name,
        "organization": p.organization,
        "role": p.role,
        "permissions": sorted(p.permissions),
        "training": [course_json(c) for c in courses],
        "training_gaps": list(p.training_gaps),
        "mfa_enrolled": bool(user and user.totp_secret),
        "via_token": state.token_id is not None,
        "csrf_token": state.csrf_token or None,  # send it as X-CSRF-Token with cookie-authenticated writes
    }


@router.get("/access/matrix", tags=["access"])
def api_permission_matrix(state: Signed, work: DbWork) -> dict[str, Any]:
    """The permission matrix as data: every role, its permissions, MFA and required courses."""
    return permission_matrix(work.settings)


@router.get("/account/tokens", tags=["access"])
def api_list_tokens(session: DbSession, state: Signed) -> dict[str, Any]:
    """The caller's personal API tokens (never their secrets)."""
    return {"tokens": [token_json(t) for t in list_tokens(session, state.principal.user_id)]}


@router.post(
    "/account/tokens", tags=["access"], status_code=201, responses={400: {"description": "A rule on the token broken"}}
)
def api_create_token(body: TokenRequest, state: Signed, work: DbWork) -> Any:
    """Create a personal API token; the token is in this answer only. Needs a session, not another token."""
    if state.token_id is not None:
        return JSONResponse({"detail": "tokens are created from a signed-in session, not with a token"}, 403)
    try:
        token, raw = create_token(
            work, state.principal, name=body.name, scopes=body.scopes, expires_in_days=body.expires_in_days
        )
    except TokenError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    return {**token_json(token), "token": raw}


@router.delete(
    "/account/tokens/{token_id}", tags=["access"], responses={404: {"description": "No such token of yours"}}
)
def api_revoke_token(token_id: RowId, state: Signed, work: DbWork) -> Any:
    """Revoke one of the caller's tokens; it stops working at once."""
    try:
        token = revoke_token(work, state.principal, token_id)
    except TokenError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    return token_json(token)
