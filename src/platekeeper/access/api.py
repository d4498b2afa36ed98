"""JSON routes for signing in and out (API clients keep the session cookie)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from platekeeper.access.service import SIGN_IN_FAILED, SessionState, end_session, sign_in
from platekeeper.web.deps import PUBLIC, SESSION_COOKIE, SIGNED_IN, DbSession, app_state, client_of
from platekeeper.web.session_cookie import set_session_cookie

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["session"])


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/session", dependencies=[Depends(PUBLIC)])
def api_sign_in(body: SignIn, request: Request, response: Response, session: DbSession) -> Any:
    """Sign in; the session cookie is set on the response."""
    state = app_state(request)
    signed_in = sign_in(session, state.settings, state.audit_key, body.username, body.password, client_of(request))
    if signed_in is None:
        return JSONResponse({"detail": SIGN_IN_FAILED}, status_code=401)
    token, user = signed_in
    set_session_cookie(request, response, token, state.settings)
    return {"username": user.username, "role": user.role}


@router.delete("/session", dependencies=[Depends(PUBLIC)])
def api_sign_out(request: Request, response: Response, session: DbSession) -> dict[str, Any]:
    """Sign out: the session ends on the server and the cookie is cleared."""
    state = app_state(request)
    ended = end_session(session, state.audit_key, request.cookies.get(SESSION_COOKIE), client_of(request))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"signed_out": ended}


@router.get("/me")
def api_me(state: Annotated[SessionState, Depends(SIGNED_IN)]) -> dict[str, Any]:
    """Who is signed in, and what their role may do."""
    p = state.principal
    return {
        "username": p.username,
        "display_name": p.display_name,
        "organization": p.organization,
        "role": p.role,
        "permissions": sorted(p.permissions),
    }
