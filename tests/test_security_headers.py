"""Every response carries the security headers, whichever layer answers it, and the server names no software.

Over real HTTP, as `platekeeper serve` configures uvicorn: pages, API answers, static files, the router's 404 and
405, the body limit's 413 (answered before any route runs) and an unhandled error's 500 (answered outside every
middleware).
"""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from fastapi import FastAPI

from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.web.app import create_app
from platekeeper.web.transport import SECURITY_HEADERS, document_response
from tests.browser import live_server

EVERY = set(SECURITY_HEADERS)


def _app_with_a_failing_route(settings: Settings, database: Database) -> FastAPI:
    small = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"max_request_bytes": 2048})})
    app = create_app(small, database)

    def fails() -> None:
        raise RuntimeError("a bug in a handler")

    app.add_api_route("/api/v1/test-failure", fails)  # only in this test's app
    return app


@pytest.fixture
def base(settings: Settings, database: Database):
    with live_server(_app_with_a_failing_route(settings, database)) as url:
        yield url


@pytest.mark.parametrize(
    ("method", "path", "sent", "status", "expected"),
    [
        ("GET", "/login", {}, 200, EVERY),
        ("GET", "/", {}, 303, EVERY),
        ("GET", "/healthz", {}, 200, EVERY),
        ("GET", "/api/v1/reads", {}, 401, EVERY),
        ("GET", "/no-such-page", {}, 404, EVERY),
        ("GET", "/api/v1/session/nothing", {}, 404, EVERY),
        ("GET", "/logout", {}, 405, EVERY),
        ("POST", "/api/v1/reads", {"body": "x" * 4096}, 413, EVERY),
        ("GET", "/api/v1/test-failure", {}, 500, EVERY),
        ("GET", "/static/app.css", {}, 200, EVERY - {"cache-control"}),  # no data in it: cacheable
    ],
)
def test_every_response_carries_the_security_headers(
    base: str, method: str, path: str, sent: dict[str, str], status: int, expected: set[str]
) -> None:
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        response = client.request(method, path, content=sent.get("body"))
    assert response.status_code == status, response.text
    missing = {name for name in expected if response.headers.get(name) != SECURITY_HEADERS[name]}
    assert missing == set(), f"{method} {path} lacks or changes {sorted(missing)}"
    assert "server" not in response.headers  # no software banner
    assert "strict-transport-security" not in response.headers  # plain HTTP: HSTS only over TLS
    if path.startswith("/static/"):
        assert response.headers.get("cache-control") != "no-store"


def test_a_document_page_admits_only_its_own_style_by_hash() -> None:
    """A purge certificate or audit report is its PDF's HTML with its style inline: its policy names that style's
    SHA-256, so the style applies and nothing else inline does (a script stays barred)."""
    style = "body { margin: 2cm; }"
    smuggled = "main { background: url(https://example.invalid/leak) }"  # were a body ever to carry one
    response = document_response(
        f"<html><head><style>{style}</style></head><body><main><style>{smuggled}</style></main></body></html>"
    )
    policy = response.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}'" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert policy.count("sha256-") == 1  # the body's style block is not admitted
