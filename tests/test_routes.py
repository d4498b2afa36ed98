"""Deny by default: every route declares the permission it needs, and a role x route matrix checks each one.

The matrix is generated from the permission data in config (in the style of NetBox's view tests): for every route
and every role, a role without the route's permission gets 403, a role with it gets through, and an anonymous
caller gets 401 (API) or a redirect to the sign-in page (pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from platekeeper.config import load_settings
from platekeeper.web.app import create_app
from platekeeper.web.deps import Requirement
from tests.conftest import Harness

PUBLIC_ROUTES = {  # healthz, the tab icon, sign-in, the public face, static files and the OpenAPI document
    ("GET", "/favicon.ico"),
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/api/v1/session"),
    ("GET", "/share/{token}"),  # a recipient's single-use download link: the token is the credential
    ("POST", "/share/{token}"),
    ("GET", "/policy"),  # the posted usage and privacy policy (Civil Code 1798.90.51(b)), its versions and PDF
    ("GET", "/policy/versions"),
    ("GET", "/policy/versions/{number}"),
    ("GET", "/transparency"),  # the public figures (404 with a notice until transparency.published)
    ("GET", "/transparency.json"),
}
SIGN_OUT_ROUTES = {("POST", "/logout"), ("DELETE", "/api/v1/session")}  # open to all, but CSRF-checked
CAMERA_ROUTES = {("POST", "/api/v1/reads"), ("POST", "/api/v1/images")}
ROLES = sorted(load_settings().access.roles)
PATH_VALUES = {
    "read_id": "00000000-0000-4000-8000-000000000000",
    "kind": "crop",
    "camera_id": "1",
    "user_id": "999999",  # no such account: an allowed role gets 404, and nothing changes under the matrix
    "token_id": "999999",
    "record_id": "999999",
    "hotlist_id": "999999",  # no such list: allowed roles get 404/400, nothing is created
    "alert_id": "999999",
    "hold_id": "999999",  # no such hold: allowed roles get 404, nothing is decided or released
    "run_id": "999999",
    "notice_id": "999999",  # no such notice: allowed roles get 404, nothing is acknowledged
    "plate": "7ABC123",
    "agency_id": "999999",  # no such agency or request: allowed roles get 404, nothing changes
    "request_id": "999999",
    "seq": "999999",  # no such audit event: allowed roles get 404 (the refusal recorded), nothing revealed
    "token": "x" * 43,
    "audit_id": "999999",  # no such system audit: allowed roles get 404, nothing is run or approved
    "position": "1",
    "number": "999999",  # no such policy version: 404
}


def _requirements(dependant) -> Iterator[Requirement]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, Requirement):
            yield dep.call
        yield from _requirements(dep)


def _api_routes(tmp_path) -> list[APIRoute]:
    app = create_app(load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db"))
    return [r for r in app.routes if isinstance(r, APIRoute)]


def test_every_route_declares_exactly_one_requirement(tmp_path) -> None:
    app = create_app(load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db"))
    missing, public, camera, sign_out = [], set(), set(), set()
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        if not isinstance(route, APIRoute):
            assert isinstance(route, Route) and route.path == "/openapi.json", f"undeclared route {route.path}"
            continue
        found = list(_requirements(route.dependant))
        for method in route.methods:
            if len(found) != 1:
                missing.append(f"{method} {route.path}: {len(found)} requirements")
            elif found[0].kind == "public":
                public.add((method, route.path))
            elif found[0].kind == "camera":
                camera.add((method, route.path))
            elif found[0].kind == "sign_out":
                sign_out.add((method, route.path))
    assert not missing, "routes without exactly one permission: " + ", ".join(missing)
    assert public == PUBLIC_ROUTES
    assert sign_out == SIGN_OUT_ROUTES
    assert camera == CAMERA_ROUTES


def _matrix(tmp_path_factory) -> list[tuple[str, str, str | None, str]]:
    cases = []
    for route in _api_routes(tmp_path_factory.mktemp("routes")):
        (requirement,) = _requirements(route.dependant)
        if requirement.kind not in ("permission", "signed_in"):
            continue
        path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], route.path)
        for method in sorted(route.methods):
            for role in ROLES:
                cases.append((method, path, requirement.permission, role))
    return cases


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> list[tuple[str, str, str | None, str]]:
    return _matrix(tmp_path_factory)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_role_route_matrix(harness: Harness, matrix: list[tuple[str, str, str | None, str]]) -> None:
    clients = {role: harness.signed_in(role) for role in ROLES}
    failures = []
    for method, path, permission, role in matrix:
        allowed = permission is None or permission in harness.settings.access.roles[role].permissions
        response = clients[role].request(method, path, follow_redirects=False)
        denied = response.status_code == 403 and "does not grant" in response.text
        if allowed == denied or response.status_code == 401:
            failures.append(f"{role:24} {method} {path} needs {permission}: got {response.status_code}")
    assert not failures, "\n".join(failures)
    assert len(matrix) >= len(ROLES) * 10


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_anonymous_callers_are_sent_to_sign_in(harness: Harness, matrix) -> None:
    for method, path, _permission, role in matrix:
        if role != ROLES[0]:
            continue
        response = harness.client.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), (
                method,
                path,
            )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_vendor_never_reaches_plate_data(harness: Harness, matrix) -> None:
    vendor = harness.signed_in("vendor_maintenance")
    for method, path, permission, _role in matrix:
        if permission in {"reads.search", "reads.view", "audit.view", "audit.export", "users.manage"}:
            assert vendor.request(method, path, follow_redirects=False).status_code == 403, (method, path)


def test_openapi_is_served(tmp_path) -> None:
    from fastapi.testclient import TestClient

    app = create_app(load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db"))
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
        assert "/api/v1/reads" in document["paths"]
        assert client.get("/healthz").json() == {"status": "ok"}
