"""Recent server errors for maintenance (vendor, administrator), without plate data.

Each unhandled error keeps only its time, the HTTP method, the route's *template* (``/reads/{read_id}``, never the
filled-in path or the query, which may hold plates or case numbers) and the exception's class name, never its
message. The list lives in memory, bounded by ``web.error_log_size``, and starts empty at each start.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from platekeeper.access.service import SessionState
from platekeeper.db import utcnow
from platekeeper.web.deps import DbWork, render, requires

__all__ = ["ErrorLog", "ServerError", "router"]

router = APIRouter()
Health = Annotated[SessionState, Depends(requires("system.health"))]


@dataclass(frozen=True)
class ServerError:
    """One unhandled error, as maintenance may see it."""

    at: datetime
    method: str
    route: str
    error: str


class ErrorLog:
    """A bounded, thread-safe list of the most recent server errors."""

    def __init__(self, size: int) -> None:
        self._errors: deque[ServerError] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, request: Request, exc: BaseException) -> None:
        """Keep the error without anything that could hold plate data."""
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "(no route)"
        with self._lock:
            self._errors.appendleft(ServerError(utcnow(), request.method, template, type(exc).__name__))

    def recent(self) -> list[ServerError]:
        """Newest first."""
        with self._lock:
            return list(self._errors)

    def handler(self, request: Request, exc: Exception) -> Response:
        """The app's handler for unhandled errors: record, then answer 500 without details."""
        self.record(request, exc)
        return JSONResponse({"detail": "internal server error; it was recorded for maintenance"}, status_code=500)


def _log(request: Request) -> ErrorLog:
    log: ErrorLog = request.app.state.error_log
    return log


@router.get("/api/v1/system/errors", tags=["system"])
def api_errors(request: Request, state: Health) -> dict[str, Any]:
    """Recent server errors (route template and error class only, no plate data)."""
    return {"errors": [asdict(e) | {"at": e.at.isoformat()} for e in _log(request).recent()]}


@router.get("/system/errors", include_in_schema=False)
def errors_page(request: Request, state: Health, work: DbWork) -> Response:
    """Recent server errors for maintenance."""
    size = work.settings.web.error_log_size
    return render(request, "errors.html", {"errors": _log(request).recent(), "size": size})
