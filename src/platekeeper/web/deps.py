"""Request dependencies: the database session, who is asking, and the permission every route declares.

Every route takes exactly one :class:`Requirement` (``requires("perm")``, ``PUBLIC``, ``SIGNED_IN``, ``CAMERA``,
``SIGN_IN_STEP`` for the one-time-code and enrolment steps of signing in, or ``SIGN_OUT``); ``tests/test_routes.py``
walks ``app.routes`` and fails on any route without one. A state-changing request (any method but GET, HEAD,
OPTIONS) that comes with a session cookie needs that session's CSRF token, as the ``X-CSRF-Token`` header or a
form's ``csrf_token`` field, or it is refused with 403 before anything runs; bearer-token calls are exempt. A
user is known by the session cookie or by a personal API token (``Authorization: Bearer pkt_...``); ``CAMERA``
accepts only camera keys (``pkc_...``). Requests with a personal API token count against
``rate_limits.api_per_token``, and camera uploads against ``rate_limits.api_per_camera`` (429 beyond them; cookie
sessions are covered by the sign-in limits). A plate-data permission also needs current training: the requirement
refuses with :class:`TrainingRequired` naming the course.

A route that writes to the audit chain takes the request's :class:`~platekeeper.audit.work.Work` (``DbWork``): the
request's transaction, the settings, the audit key and the actor (the principal its requirement resolved, at the
client's address; before sign-in an anonymous actor at that address). It is declared after the requirement.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from platekeeper.access.models import UserSession
from platekeeper.access.principal import PermissionDenied, Principal
from platekeeper.access.service import SessionState, open_session_csrf, resolve_session, token_hash
from platekeeper.access.tokens import TOKEN_PREFIX, resolve_token
from platekeeper.audit.service import Actor
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.cameras.service import authenticate_camera
from platekeeper.config import Settings
from platekeeper.db import MAX_ROW_ID, Database
from platekeeper.notices.service import open_breach_notices
from platekeeper.permissions import TRAINED_PERMISSIONS
from platekeeper.rate_limits import RateLimited, RateLimitRefusal, RateLimits
from platekeeper.reads.images import ImageStore
from platekeeper.services import Services

__all__ = [
    "CAMERA",
    "CSRF_HEADER",
    "MAX_ROW_ID",
    "PUBLIC",
    "SESSION_COOKIE",
    "SIGNED_IN",
    "SIGN_IN_STEP",
    "SIGN_OUT",
    "AppState",
    "AuthRequired",
    "CsrfRefused",
    "DbSession",
    "DbWork",
    "Forbidden",
    "Requirement",
    "RowId",
    "app_state",
    "check_csrf",
    "client_of",
    "csrf_sent",
    "current",
    "db_session",
    "rate_limited_json",
    "rate_limited_page",
    "render",
    "request_work",
    "require_csrf",
    "requires",
    "same_origin",
    "work",
]

SESSION_COOKIE = "pk_session"
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id: a whole number from 1 to 2^31-1")]
"""A numeric id in a route's path: out of range is a 422 naming the parameter, never a database error."""
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
TEMPLATES = FilePath(__file__).parent / "templates"


@dataclass
class AppState:
    """What the running app shares between requests: the installation's services (built by the composition root,
    ``services.build_services``), the page templates, and what to run when the server stops."""

    services: Services
    templates: Jinja2Templates
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)  # run when the server stops, in order

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def database(self) -> Database:
        return self.services.database

    @property
    def audit_key(self) -> bytes:
        return self.services.audit_key

    @property
    def signing_key(self) -> InstallationKey:
        return self.services.signing_key

    @property
    def image_store(self) -> ImageStore:
        return self.services.image_store

    @property
    def rate_limits(self) -> RateLimits:
        return self.services.rate_limits


class AuthRequired(Exception):
    """No valid session (or camera key): pages redirect to sign-in, the API answers 401."""

    def __init__(self, message: str = "sign in first") -> None:
        super().__init__(message)
        self.message = message


class Forbidden(Exception):
    """Signed in, but the role lacks the route's permission."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Forbidden):
    """A state-changing request that came with the session cookie but without this session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(
            "this request changes data and came with your session cookie but without this session's CSRF token "
            f"(the form's {CSRF_FIELD} field, or the {CSRF_HEADER.title()} header for the API): "
            "reload the page and try again"
        )


def app_state(request: Request) -> AppState:
    """The app's shared state."""
    state: AppState = request.app.state.platekeeper
    return state


def _breach_notices(request: Request, state: SessionState | None) -> list[dict[str, Any]]:
    """The open breach notices, for the banner on every page of those who receive them (notices.breach); read in
    a snapshot of its own, so the banner never waits for the request's writes."""
    if state is None or not state.principal.can("notices.breach"):
        return []
    with app_state(request).database.read_connection() as conn:
        return open_breach_notices(conn)


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    """Render a page with the signed-in principal and CSRF token available to the template."""
    state: SessionState | None = getattr(request.state, "session", None)
    base = {
        "breach_notices": _breach_notices(request, state),
        "principal": state.principal if state else None,
        "csrf_token": state.csrf_token if state else getattr(request.state, "csrf_token", ""),
        "idle_seconds": app_state(request).settings.web.session_idle_minutes * 60,
    }
    return app_state(request).templates.TemplateResponse(
        request, template, {**base, **(context or {})}, status_code=status
    )


def rate_limited_page(request: Request, refusal: RateLimitRefusal) -> Response:
    """The error page for a request refused by a rate limit: 429, a plain sentence and ``Retry-After``."""
    response = render(request, "error.html", {"status": 429, "message": f"{refusal.message}."}, 429)
    response.headers.update(refusal.headers)
    return response


def rate_limited_json(refusal: RateLimitRefusal) -> JSONResponse:
    """The API answer for a request refused by a rate limit: 429, the detail naming the limit, ``Retry-After``."""
    return JSONResponse({"detail": refusal.detail, "limit": refusal.limit}, status_code=429, headers=refusal.headers)


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises."""
    with app_state(request).database.session() as session:
        yield session


# scope="function": the transaction ends before the response is sent. With the default ("request") FastAPI
# closes it after sending, so a client could be told 200 for a write whose commit then failed, or sign in
# and be refused on its next request because the new session was not committed yet.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def client_of(request: Request) -> str | None:
    """The client address recorded in the audit log."""
    return request.client.host if request.client else None


class Requirement:
    """What a route needs. Instances are the dependencies the route walk looks for."""

    def __init__(self, kind: str, permission: str | None = None) -> None:
        self.kind = kind  # public | signed_in | permission | camera | sign_in_step | sign_out
        self.permission = permission

    def __repr__(self) -> str:
        return f"Requirement({self.kind!r}, {self.permission!r})"

    async def __call__(self, request: Request, session: DbSession) -> Any:
        request.state.requirement = self  # the request's Work may be built from here on (see `work`)
        if self.kind == "public":
            return None
        if self.kind == "camera":
            return await run_in_threadpool(self._camera, request, session)
        if self.kind == "sign_in_step":
            expected = await run_in_threadpool(self._sign_in_step, request, session)
            await require_csrf(request, expected)
            return None
        if self.kind == "sign_out":
            pending = await run_in_threadpool(open_session_csrf, session, request.cookies.get(SESSION_COOKIE))
            if pending is not None:  # nothing to end (and so nothing to forge) without an open session
                await require_csrf(request, pending)
            return None
        state = await run_in_threadpool(self._session_state, request, session)
        if state.token_id is None:  # the cookie rides along on any request, a bearer token never does
            await require_csrf(request, state.csrf_token)
        if self.permission and not state.principal.can(self.permission):
            if state.token_id:
                why = f"this API token's scopes (or its owner's role) do not grant {self.permission!r}"
            else:
                why = f"your role ({state.principal.role_label}) does not grant {self.permission!r}"
            raise RouteRefused(why, self.permission, state.principal)  # recorded by the app's handler
        if self.permission in TRAINED_PERMISSIONS:  # plate data and the audit log, which records the plates
            state.principal.require_training(self.permission)
        return state

    @staticmethod
    def _session_state(request: Request, session: Session) -> SessionState:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        settings = app_state(request).settings
        if scheme.lower() == "bearer" and credential:
            if not credential.startswith(TOKEN_PREFIX):
                raise AuthRequired("this route takes a personal API token (Bearer pkt_...) or a session, not this key")
            state = resolve_token(request_work(request, session), credential)
            if state is None:
                raise AuthRequired("the API token is unknown, expired or revoked, or its account is not active")
            _within_limit(request, "api_per_token", str(state.token_id))
        else:
            state = resolve_session(session, settings, request.cookies.get(SESSION_COOKIE))
        if state is None:
            raise AuthRequired("your session has ended or you are not signed in; sign in again")
        request.state.session = state
        return state

    @staticmethod
    def _sign_in_step(request: Request, session: Session) -> str:
        """Between the password and the one-time code: a pending session must exist (else back to sign-in).
        Returns the pending session's CSRF token (its forms carry it)."""
        token = request.cookies.get(SESSION_COOKIE)
        row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token or "")))
        if not token or row is None or row.stage == "active" or row.ended_at is not None:
            raise AuthRequired("sign in with your username and password first")
        request.state.csrf_token = row.csrf_token
        return row.csrf_token

    @staticmethod
    def _camera(request: Request, session: Session) -> Camera:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        camera = authenticate_camera(session, key.strip() if scheme.lower() == "bearer" else None)
        if camera is None:
            raise HTTPException(
                401,
                "a valid camera API key is required: Authorization: Bearer pkc_...",
                headers={"WWW-Authenticate": "Bearer"},
            )
        _within_limit(request, "api_per_camera", str(camera.id))
        return camera


def _within_limit(request: Request, limit: str, key: str) -> None:
    """Count an API request against one rate limit (per token or per camera); over it, 429 with Retry-After."""
    refusal = app_state(request).rate_limits.hit((limit, key))
    if refusal is not None:
        raise RateLimited(refusal)


PUBLIC = Requirement("public")
SIGNED_IN = Requirement("signed_in")
CAMERA = Requirement("camera")
SIGN_IN_STEP = Requirement("sign_in_step")
SIGN_OUT = Requirement("sign_out")
_BY_PERMISSION: dict[str, Requirement] = {}


class RouteRefused(PermissionDenied):
    """A route refused for a permission the role (or the API token's scopes) lacks: answered 403 with ``why`` and
    recorded (``auth.permission_refused``) by the app's handler, after the request's transaction has ended."""

    def __init__(self, why: str, permission: str, principal: Principal) -> None:
        super().__init__(permission, principal.role, principal)
        self.args = (why,)


def requires(permission: str) -> Requirement:
    """The requirement for one permission from the catalogue (one shared instance per permission)."""
    from platekeeper.permissions import PERMISSIONS

    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return _BY_PERMISSION.setdefault(permission, Requirement("permission", permission))


def request_work(request: Request, session: Session) -> Work:
    """The unit of audited work for this request in ``session``: the signed-in principal (when a requirement
    resolved one) at the client's address, else an anonymous actor at that address."""
    app = app_state(request)
    state: SessionState | None = getattr(request.state, "session", None)
    client = client_of(request)
    actor = Actor.of(state.principal, client) if state else Actor(username=None, client=client)
    return Work(session, app.settings, app.audit_key, actor)


async def work(request: Request, session: DbSession) -> Work:
    """The request's unit of audited work in the request's transaction (``DbWork``). Declare it after the route's
    requirement, which resolves who is acting; declared before, it refuses to guess (a server error in every test
    of the route) rather than audit a signed-in user's action as anonymous."""
    if getattr(request.state, "requirement", None) is None:
        raise RuntimeError(f"{request.url.path}: the route's requirement must come before its Work parameter")
    return request_work(request, session)


DbWork = Annotated[Work, Depends(work)]


def same_origin(request: Request) -> bool:
    """Whether the browser says the request came from one of this site's own pages (``Sec-Fetch-Site``).

    A link or form on another site makes the browser send ``cross-site``; browsers too old to send the header
    count as not same-origin (fail closed)."""
    return request.headers.get("sec-fetch-site") == "same-origin"


def current(request: Request) -> Principal | None:
    """The signed-in principal if a requirement resolved one for this request."""
    state: SessionState | None = getattr(request.state, "session", None)
    return state.principal if state else None


def check_csrf(state: SessionState, token: str | None) -> None:
    """Refuse a form post whose CSRF token is not this session's."""
    if not token or not hmac.compare_digest(token, state.csrf_token):
        raise HTTPException(403, "the form has expired or did not come from this site; reload the page and retry")


async def csrf_sent(request: Request) -> str | None:
    """The CSRF token a request carries: the ``X-CSRF-Token`` header, else a form's ``csrf_token`` field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES:
        value = (await request.form()).get(CSRF_FIELD)  # parsed once: the route's Form fields reuse it
        return value if isinstance(value, str) else None
    return None


async def require_csrf(request: Request, expected: str) -> None:
    """Refuse a state-changing request made with the session cookie unless it carries the session's CSRF token.

    Safe methods pass (they change nothing); a request authenticated by a bearer token never reaches here.
    """
    if request.method in SAFE_METHODS:
        return
    sent = await csrf_sent(request)
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()
