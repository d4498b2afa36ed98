"""The role x route matrix in the account states that matter, generated from the permission data (NetBox style):
untrained users are refused every plate-data route naming the training; requested (unapproved) accounts and
half-signed-in sessions reach nothing; the vendor never reaches plate data through any route, by session or token;
and the permission matrix page shows what config enforces."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.access.training import required_courses
from platekeeper.audit.models import AuditEvent
from platekeeper.permissions import PERMISSIONS, PLATE_DATA_PERMISSIONS, TRAINED_PERMISSIONS
from tests.cli_helpers import run_cli
from tests.conftest import CONTEXT, PASSWORD, Harness, make_read
from tests.test_routes import PATH_VALUES, ROLES, _requirements

Case = tuple[str, str, str | None]  # method, path, permission (None: any signed-in user)


def _cases(harness: Harness) -> Iterator[Case]:
    for route in harness.client.app.routes:
        if not isinstance(route, APIRoute):
            continue
        (requirement,) = _requirements(route.dependant)
        if requirement.kind not in ("permission", "signed_in"):
            continue
        path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), "999999"), route.path)
        for method in sorted(route.methods):
            yield method, path, requirement.permission


def _grants(harness: Harness, role: str, permission: str | None) -> bool:
    return permission is None or permission in harness.settings.access.roles[role].permissions


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_untrained_users_are_refused_every_plate_data_route(harness: Harness) -> None:
    failures, checked = [], 0
    for role in ROLES:
        harness.user(f"u{role.replace('_', '')}", role, trained=False)
        client = harness.login(f"u{role.replace('_', '')}", TestClient(harness.client.app))
        needs_training = bool(required_courses(harness.settings, role))
        for method, path, permission in _cases(harness):
            response = client.request(method, path, follow_redirects=False)
            training_refusal = response.status_code == 403 and "462.10" in response.text
            if not _grants(harness, role, permission):
                expected_ok = response.status_code == 403 and "does not grant" in response.text
            elif permission in TRAINED_PERMISSIONS and needs_training:  # plate data, and the audit log
                expected_ok = training_refusal
                checked += 1
            else:
                expected_ok = response.status_code not in (401, 403) or "form has expired" in response.text
            if not expected_ok:
                failures.append(f"{role:24} {method} {path} needs {permission}: got {response.status_code}")
    assert not failures, "\n".join(failures)
    assert checked >= 5 * 3  # five plate roles, at least search, read and image


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unapproved_accounts_and_half_signed_in_sessions_reach_nothing(harness: Harness) -> None:
    harness.user("pending", "sworn_officer", approved=False)
    refused = harness.client.post("/api/v1/session", json={"username": "pending", "password": PASSWORD})
    assert refused.status_code == 401 and "waiting for approval" in refused.json()["detail"]
    harness.user("halfway", "alpr_admin")
    half = TestClient(harness.client.app)
    step = half.post("/login", data={"username": "halfway", "password": PASSWORD}, follow_redirects=False)
    assert step.headers["location"].startswith("/login/mfa")
    for method, path, permission in _cases(harness):
        response = half.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), (method, path)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_vendor_never_reaches_plate_data_through_any_route(harness: Harness) -> None:
    vendor_role = harness.settings.access.roles["vendor_maintenance"]
    assert vendor_role.maintenance_only and not set(vendor_role.permissions) & PLATE_DATA_PERMISSIONS
    assert not {"audit.view", "audit.export"} & set(vendor_role.permissions)
    _, key = harness.camera()
    harness.client.post(
        "/api/v1/reads", json={"reads": [make_read("5SOW350")]}, headers={"Authorization": f"Bearer {key}"}
    )
    vendor = harness.signed_in("vendor_maintenance", "tech")
    token = vendor.post("/api/v1/account/tokens", json={"name": "all", "scopes": sorted(vendor_role.permissions)})
    by_token = TestClient(harness.client.app, headers={"Authorization": f"Bearer {token.json()['token']}"})
    reached = 0
    for client in (vendor, by_token):
        for method, path, permission in _cases(harness):
            response = client.request(method, path, params=CONTEXT | {"plate": "5SOW350"}, follow_redirects=False)
            if permission in TRAINED_PERMISSIONS:  # plate data and the audit log
                assert response.status_code == 403, (method, path)
            assert "5SOW350" not in response.text, (method, path)
            reached += response.status_code == 200
    assert reached >= 4  # home, health, cameras, account... are reachable, and show no plate


def test_the_permission_matrix_page_is_the_enforced_config(harness: Harness) -> None:
    auditor = harness.signed_in("auditor")
    data = auditor.get("/api/v1/access/matrix").json()
    roles = {r["code"]: r for r in data["roles"]}
    for code, role in harness.settings.access.roles.items():
        assert roles[code]["permissions"] == sorted(role.permissions)
        assert roles[code]["courses"] == [c.code for c in required_courses(harness.settings, code)]
    assert {p["name"] for p in data["permissions"]} == set(PERMISSIONS)
    assert roles["sworn_officer"]["mfa_required"] is True
    page = auditor.get("/access/matrix")
    assert page.status_code == 200 and "Permission matrix" in page.text
    for role in harness.settings.access.roles.values():
        assert role.label.replace("&", "&amp;") in page.text


def test_maintenance_sees_recent_server_errors_without_request_values(harness: Harness) -> None:
    from fastapi import APIRouter, Depends

    from platekeeper.web.deps import SIGNED_IN

    def broken(plate: str) -> None:
        raise ValueError(f"boom for {plate}")

    router = APIRouter()
    router.add_api_route("/api/v1/test-broken/{plate}", broken, dependencies=[Depends(SIGNED_IN)])
    harness.client.app.router.routes.extend(router.routes)
    officer = harness.signed_in("sworn_officer")
    crash = TestClient(harness.client.app, raise_server_exceptions=False, cookies=officer.cookies)
    assert crash.get("/api/v1/test-broken/5SOW350").status_code == 500
    vendor = harness.signed_in("vendor_maintenance")
    errors = vendor.get("/api/v1/system/errors").json()["errors"]
    assert errors[0]["route"] == "/api/v1/test-broken/{plate}" and errors[0]["error"] == "ValueError"
    page = vendor.get("/system/errors")
    assert page.status_code == 200 and "test-broken" in page.text
    assert "5SOW350" not in page.text and "5SOW350" not in str(errors)
    assert officer.get("/api/v1/system/errors").status_code == 403


def test_a_refused_permission_is_recorded_from_the_web_and_the_command_line(harness: Harness) -> None:
    """CJIS logs failed access as well as granted: a role without a permission that asks for its page, its API or
    its command is refused (403, exit 2) and the refusal is in the audit log with the permission and where."""
    vendor = harness.signed_in("vendor_maintenance", "tech")
    assert vendor.get("/audit").status_code == 403
    assert vendor.get("/api/v1/holds").status_code == 403
    assert run_cli(harness, "holds", "list", "--as", "tech").returncode == 2
    with harness.database.session() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.permission_refused")))
    assert [(e.username, e.outcome, e.details["attempted"]) for e in events] == [
        ("tech", "denied", "audit.view"), ("tech", "denied", "holds.request"), ("tech", "denied", "holds.request")
    ]  # fmt: skip
    assert [e.details["where"] for e in events] == ["GET /audit", "GET /api/v1/holds", "command line"]
