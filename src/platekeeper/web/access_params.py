"""Reading the stated purpose, case number and justification from a request, and turning them into a context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from platekeeper.access.context import AccessContext, AccessContextError, build_access_context
from platekeeper.access.principal import Principal
from platekeeper.reads.service import SearchError, record_refusal
from platekeeper.web.deps import app_state, client_of

__all__ = ["CONTEXT_FIELDS", "StatedContext", "context_or_refusal", "refusal_response", "stated_context"]

CONTEXT_FIELDS = ("purpose", "case_number", "justification")
HEADERS = {"purpose": "x-purpose", "case_number": "x-case-number", "justification": "x-justification"}


@dataclass(frozen=True)
class StatedContext:
    purpose: str | None
    case_number: str | None
    justification: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "case_number": self.case_number, "justification": self.justification}


def stated_context(request: Request, fallback: dict[str, str] | None = None) -> StatedContext:
    """The context from query parameters, else X-Purpose / X-Case-Number / X-Justification headers, else fallback."""
    values = {}
    for name in CONTEXT_FIELDS:
        value = request.query_params.get(name) or request.headers.get(HEADERS[name])
        values[name] = value if value else (fallback or {}).get(name)
    return StatedContext(**values)


def context_or_refusal(
    session: Session,
    request: Request,
    principal: Principal,
    stated: StatedContext,
    action: str,
    query: dict[str, Any],
) -> AccessContext | AccessContextError:
    """Build the access context, or audit the refusal and return the error."""
    state = app_state(request)
    try:
        return build_access_context(principal, state.settings.access, **stated.as_dict())
    except AccessContextError as exc:
        record_refusal(
            session,
            state.audit_key,
            principal,
            action,
            str(exc),
            {**query, **stated.as_dict()},
            client_of(request),
        )
        return exc


def refusal_response(error: AccessContextError | SearchError) -> JSONResponse:
    """The 400 answer naming what is missing or wrong."""
    if isinstance(error, AccessContextError):
        return JSONResponse(
            {
                "detail": f"plate data needs an authorized purpose, a case number and a justification: {error}",
                "problems": error.problems,
            },
            status_code=400,
        )
    return JSONResponse({"detail": str(error)}, status_code=400)
