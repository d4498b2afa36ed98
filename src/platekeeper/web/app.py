"""The app factory: composes each domain's api.py and pages.py, error handling and security middleware."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from platekeeper import __version__
from platekeeper.access import admin_api as access_admin_api
from platekeeper.access import admin_pages as access_admin_pages
from platekeeper.access import api as access_api
from platekeeper.access import pages as access_pages
from platekeeper.access.context import record_context_refusal
from platekeeper.access.principal import PermissionDenied, TrainingRequired
from platekeeper.access.service import record_permission_refusal
from platekeeper.access.training import record_training_refusal
from platekeeper.alerts import api as alerts_api
from platekeeper.alerts import pages as alerts_pages
from platekeeper.audit import api as audit_api
from platekeeper.audit import pages as audit_pages
from platekeeper.audits import api as audits_api
from platekeeper.audits import pages as audits_pages
from platekeeper.cameras import api as cameras_api
from platekeeper.cameras import pages as cameras_pages
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.files import restrict_umask, start_up_warning
from platekeeper.guards.service import GuardStopped, record_stop
from platekeeper.hotlists import api as hotlists_api
from platekeeper.hotlists import pages as hotlists_pages
from platekeeper.notices import api as notices_api
from platekeeper.notices import pages as notices_pages
from platekeeper.plates import api as plates_api
from platekeeper.plates import pages as plates_pages
from platekeeper.rate_limits import RateLimited
from platekeeper.reads import api as reads_api
from platekeeper.reads import pages as reads_pages
from platekeeper.retention import api as retention_api
from platekeeper.retention import pages as retention_pages
from platekeeper.services import Services, build_services
from platekeeper.sharing import agency_pages as sharing_agency_pages
from platekeeper.sharing import api as sharing_api
from platekeeper.sharing import pages as sharing_pages
from platekeeper.sharing import partner_pages as sharing_partner_pages
from platekeeper.sharing import review_pages as sharing_review_pages
from platekeeper.transparency import api as transparency_api
from platekeeper.transparency import pages as transparency_pages
from platekeeper.web import error_log, home
from platekeeper.web.access_params import ContextRefused, refusal_response
from platekeeper.web.deps import (
    TEMPLATES,
    AppState,
    AuthRequired,
    Forbidden,
    app_state,
    rate_limited_json,
    rate_limited_page,
    render,
    request_work,
)
from platekeeper.web.error_log import ErrorLog
from platekeeper.web.nul import RefuseNul
from platekeeper.web.openapi import install_openapi
from platekeeper.web.transport import SecurityHeaders, header_pairs

__all__ = ["create_app"]

logger = logging.getLogger("platekeeper")

STATIC = Path(__file__).parent / "static"


class BodyLimit:
    """Refuse request bodies over the configured size with 413, before the handler reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except* _BodyTooLarge:  # a group when it crossed a task group (the headers middleware runs the app in one)
            if not started:
                await _too_large(self.max_bytes)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"request body is larger than the limit of {limit} bytes (ingest.max_request_bytes)"},
        status_code=413,
    )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


_ROUTER_ERRORS = {  # status: (the router's own detail, what a page says instead)
    404: ("Not Found", "There is no page at this address. Check the address, or start again from the home page."),
    405: (
        "Method Not Allowed",
        "This address is a form's action, not a page to open: go back to the page with the form and use its button.",
    ),
}


def _error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AuthRequired)
    async def auth_required(request: Request, exc: AuthRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return _error_page(request, 403, exc.message)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        if _wants_json(request):
            return rate_limited_json(exc.refusal)
        return rate_limited_page(request, exc.refusal)

    @app.exception_handler(ContextRefused)
    def context_refused(request: Request, exc: ContextRefused) -> Response:
        """Record the refusal in its own transaction (the request's was rolled back), then answer 400. A page opened
        with nothing stated only asks for the context: no errors shown, no refusal recorded."""
        with app_state(request).database.session() as session:
            work = request_work(request, session)
            if exc.page is not None and exc.prompt:
                return exc.page(work, {})
            record_context_refusal(work, exc.principal, exc.action, exc.error, exc.asked)
            if exc.page is not None:
                return exc.page(work, exc.error.problems)
        return refusal_response(exc.error)

    @app.exception_handler(PermissionDenied)
    def permission_denied(request: Request, exc: PermissionDenied) -> Response:
        _record_refusal(request, exc)
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return _error_page(request, 403, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        bare, plain = _ROUTER_ERRORS.get(exc.status_code, ("", ""))
        message = plain if exc.detail == bare else str(exc.detail)  # the router's bare phrase, said for a person
        return _error_page(request, exc.status_code, message)

    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """422 naming each field (the API), or for a page: 404 for an id no row can have, else the fields named."""
    problems = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in exc.errors()]
    if _wants_json(request):
        return JSONResponse({"detail": "invalid request", "problems": problems}, status_code=422)
    if all(e["loc"][:1] == ("path",) for e in exc.errors()):  # an id no row can have: no such page
        return _error_page(request, 404, _ROUTER_ERRORS[404][1])
    text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return _error_page(request, 422, f"The request was not valid: {text}")


def _install_guard_handler(app: FastAPI) -> None:
    @app.exception_handler(GuardStopped)
    def guard_stopped(request: Request, exc: GuardStopped) -> Response:
        """Record the stop and its notice in their own transaction (the request's was rolled back, so nothing else
        of it is kept), then answer 403 naming the rule."""
        with app_state(request).database.session() as session:
            record_stop(request_work(request, session), exc)
        if _wants_json(request):
            return JSONResponse({"detail": str(exc), "rule": exc.rule}, status_code=403)
        return _error_page(request, 403, f"This search was stopped: {exc}.")


def _record_refusal(request: Request, exc: PermissionDenied) -> None:
    """Audit a refusal (training, or a permission the role lacks) in its own transaction (the request's own was
    rolled back by the exception)."""
    state = getattr(request.state, "session", None)
    if state is None:
        return
    with app_state(request).database.session() as session:
        work = request_work(request, session)
        if isinstance(exc, TrainingRequired):
            record_training_refusal(work, state.principal, exc)
        else:
            record_permission_refusal(work, exc, f"{request.method} {request.url.path}")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")


def _templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
        return value.astimezone(settings.tz).strftime(fmt) if value else ""

    def data_uri(data: bytes | None, media_type: str | None) -> str:
        if not data:
            return ""
        return f"data:{media_type or 'image/jpeg'};base64,{base64.b64encode(data).decode()}"

    def chart_item(row: dict[str, Any], label: str, value: str, scale: float = 1) -> dict[str, Any]:
        """One bar of a chart (``_charts.html``) from a row of figures."""
        return {"label": str(row[label]), "value": float(row[value] or 0) * scale}

    env = templates.env
    env.filters["chart_item"] = chart_item
    env.filters["local"] = local
    env.filters["data_uri"] = data_uri
    env.globals["agency"] = settings.agency
    env.globals["version"] = __version__
    env.globals["transparency_published"] = settings.transparency.published  # the footer links it once it is live
    env.globals["purposes"] = settings.access.purposes
    env.globals["case_example"] = settings.access.case_number_example
    return templates


def _with_security_headers(
    handler: Callable[[Request, Exception], Response], settings: Settings
) -> Callable[[Request, Exception], Response]:
    """The unhandled-error handler, its 500 carrying the security headers (Starlette answers it outside every
    middleware)."""

    def answer(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        for name, value in header_pairs(request.url.path, request.url.scheme, settings.web.hsts_seconds):
            response.headers.setdefault(name, value)
        return response

    return answer


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    for hook in app.state.platekeeper.on_shutdown:  # e.g. the last audit checkpoint (platekeeper serve)
        await run_in_threadpool(hook)


def create_app(settings: Settings, database: Database | None = None, services: Services | None = None) -> FastAPI:
    """Build the web app for these settings over the installation's services (built here from ``database`` unless
    the caller, e.g. ``platekeeper serve``, built them already)."""
    restrict_umask()  # a server started without the command line (uvicorn --factory) keeps its files private too
    warning = start_up_warning(settings)
    if warning:
        logger.warning(warning)
    app = FastAPI(
        title="platekeeper",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description="ALPR platform that enforces the agency's privacy and usage policy.",
        lifespan=_lifespan,
    )
    services = services or build_services(settings, database)
    app.state.platekeeper = AppState(services=services, templates=_templates(settings))
    _install_error_handlers(app)
    _install_guard_handler(app)  # a guard's stop (policy 462.6): recorded, then 403 naming the rule
    app.state.error_log = ErrorLog(settings.web.error_log_size)
    app.add_exception_handler(Exception, _with_security_headers(app.state.error_log.handler, settings))
    app.add_middleware(RefuseNul)  # inside BodyLimit: the body it reads is already bounded
    app.add_middleware(BodyLimit, max_bytes=settings.ingest.max_request_bytes)
    app.add_middleware(SecurityHeaders, hsts_seconds=settings.web.hsts_seconds)  # outside: the 413s get them too
    if settings.web.trusted_proxies:  # outermost: every layer inside sees the client the proxy names
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.web.trusted_proxies))
    for module in (
        home,
        error_log,
        access_api,
        access_pages,
        access_admin_api,
        access_admin_pages,
        reads_api,
        reads_pages,
        audit_api,
        audit_pages,
        cameras_api,
        cameras_pages,
        hotlists_api,
        hotlists_pages,
        alerts_api,
        alerts_pages,
        plates_api,
        plates_pages,
        retention_api,
        retention_pages,
        sharing_api,
        sharing_pages,
        sharing_review_pages,
        sharing_agency_pages,
        sharing_partner_pages,
        notices_api,
        notices_pages,
        audits_api,
        audits_pages,
        transparency_api,
        transparency_pages,
    ):
        app.router.routes.extend(module.router.routes)  # flat, so app.routes lists every APIRoute
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_openapi(app)  # every refusal in the schema, with platekeeper's error body
    app.state.alerting = services.alerting  # the live alert stream's broker, for its route (and tests)
    return app
