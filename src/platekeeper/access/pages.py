"""Pages for signing in and out and for user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from platekeeper.access.service import (
    SIGN_IN_FAILED,
    SessionState,
    UserError,
    create_user,
    end_session,
    list_users,
    sign_in,
)
from platekeeper.reads.service import actor_of
from platekeeper.web.deps import (
    PUBLIC,
    SESSION_COOKIE,
    DbSession,
    app_state,
    check_csrf,
    client_of,
    render,
    requires,
)
from platekeeper.web.session_cookie import set_session_cookie

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", dependencies=[Depends(PUBLIC)])
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": ""})


@router.post("/login", dependencies=[Depends(PUBLIC)])
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success set the session cookie and go where the user was heading."""
    state = app_state(request)
    signed_in = sign_in(session, state.settings, state.audit_key, username, password, client_of(request))
    if signed_in is None:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": SIGN_IN_FAILED, "username": username},
            401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, signed_in[0], state.settings)
    return response


@router.post("/logout", dependencies=[Depends(PUBLIC)])
def logout(request: Request, session: DbSession) -> Response:
    """End the session and return to the sign-in page."""
    end_session(session, app_state(request).audit_key, request.cookies.get(SESSION_COOKIE), client_of(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _users_page(request: Request, session: DbSession, **extra: object) -> Response:
    settings = app_state(request).settings
    context = {
        "users": list_users(session),
        "roles": settings.access.roles,
        "error": None,
        "created": None,
        "form": {},
        **extra,
    }
    return render(request, "users.html", context, 400 if extra.get("error") else 200)


@router.get("/users")
def users_page(
    request: Request, session: DbSession, state: Annotated[SessionState, Depends(requires("users.manage"))]
) -> Response:
    """Every account with its role and last sign-in, and a form to add one."""
    return _users_page(request, session)


@router.post("/users")
def users_create(
    request: Request,
    session: DbSession,
    state: Annotated[SessionState, Depends(requires("users.manage"))],
    csrf_token: Annotated[str, Form()] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Create an account; errors are shown on the form and nothing is stored."""
    check_csrf(state, csrf_token)
    app = app_state(request)
    form = {"username": username, "display_name": display_name, "role": role}
    try:
        user = create_user(
            session,
            app.settings,
            app.audit_key,
            actor_of(state.principal, client_of(request)),
            username=username,
            display_name=display_name,
            role=role,
            password=password,
        )
    except UserError as exc:
        return _users_page(request, session, error=str(exc), form=form)
    return _users_page(request, session, created=user.username)
