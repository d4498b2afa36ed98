"""Reading the stated purpose, case number and justification from a request, and turning them into a context.

A plate-data route calls :func:`require_access_context`; an unacceptable context raises :class:`ContextRefused`,
and the app's one handler (``web/app.py``) records the refusal in its own transaction, under the attempted
action's domain (``reads.access_refused``, ``alerts.access_refused``, ``hotlists.access_refused``), then answers 400
naming each problem: JSON for the API, or the page the route gave (its form with the problems) for the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from platekeeper.access.context import AccessContext, AccessContextError, build_access_context
from platekeeper.access.principal import Principal
from platekeeper.audit.work import Work
from platekeeper.reads.service import SearchError
from platekeeper.web.deps import render

__all__ = [
    "CONTEXT_FIELDS",
    "ContextRefused",
    "StatedContext",
    "prompt_page",
    "refusal_response",
    "require_access_context",
    "search_refusal",
    "stated_context",
    "states_context",
]

CONTEXT_FIELDS = ("purpose", "case_number", "justification")
HEADERS = {"purpose": "x-purpose", "case_number": "x-case-number", "justification": "x-justification"}

RefusalPage = Callable[[Work, dict[str, str]], Response]
"""How a page answers a refused context: given a fresh unit of work (the request's own transaction has ended) and
the problems by field, its own form again (status 400)."""


@dataclass(frozen=True)
class StatedContext:
    purpose: str | None
    case_number: str | None
    justification: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "case_number": self.case_number, "justification": self.justification}


def states_context(request: Request) -> bool:
    """Whether the request's query string states any part of the context itself (not a remembered one)."""
    return any(request.query_params.get(name) for name in CONTEXT_FIELDS)


def prompt_page(request: Request, stated: StatedContext, *, action: str, intro: str, submit: str) -> RefusalPage:
    """How a page reached by a link asks for the context (``context_prompt.html``): its form, with the problems of
    a stated and refused context, and status 400."""
    return lambda _, problems: render(
        request,
        "context_prompt.html",
        {"action": action, "intro": intro, "submit": submit, "form": stated.as_dict(), "problems": problems},
        400,
    )


def stated_context(request: Request, fallback: dict[str, str] | None = None) -> StatedContext:
    """The context from query parameters, else X-Purpose / X-Case-Number / X-Justification headers, else fallback."""
    values = {}
    for name in CONTEXT_FIELDS:
        value = request.query_params.get(name) or request.headers.get(HEADERS[name])
        values[name] = value if value else (fallback or {}).get(name)
    return StatedContext(**values)


class ContextRefused(Exception):
    """The stated context of a plate-data request was not acceptable (the app records and answers it)."""

    def __init__(
        self,
        error: AccessContextError,
        principal: Principal,
        action: str,
        asked: dict[str, Any],
        page: RefusalPage | None,
        prompt: bool = False,
    ) -> None:
        super().__init__(str(error))
        self.error, self.principal, self.action, self.asked, self.page = error, principal, action, asked, page
        self.prompt = prompt
        """A page opened with nothing stated yet: it asks for the context, without errors, and nothing was refused
        (a context that was stated and is wrong is refused, recorded and shown with its problems)."""


def require_access_context(
    work: Work,
    principal: Principal,
    stated: StatedContext,
    action: str,
    asked: dict[str, Any],
    *,
    page: RefusalPage | None = None,
    prompt: bool = False,
) -> AccessContext:
    """The access context for ``action`` under the work's access policy, or :class:`ContextRefused` with what was
    asked (``asked``: the query's elements, for the audit event) and, for a page, how it answers. With ``prompt``
    (a page reached by a link, such as one read), a request that states no part of the context is only asked for
    it: the page's form without errors, and no refusal recorded."""
    try:
        return build_access_context(principal, work.settings.access, **stated.as_dict())
    except AccessContextError as exc:
        nothing_stated = not any(stated.as_dict().values())
        asked = {**asked, **stated.as_dict()}
        raise ContextRefused(
            exc, principal, action, asked, page, prompt and page is not None and nothing_stated
        ) from None


def refusal_response(error: AccessContextError) -> JSONResponse:
    """The API's 400 naming what is missing or wrong in the stated context."""
    return JSONResponse(
        {
            "detail": f"plate data needs an authorized purpose, a case number and a justification: {error}",
            "problems": error.problems,
        },
        status_code=400,
    )


def search_refusal(error: SearchError) -> JSONResponse:
    """The API's 400 for a search that breaks a search rule (range, wildcards)."""
    return JSONResponse({"detail": str(error)}, status_code=400)
