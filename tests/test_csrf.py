"""Cross-site request forgery: every state-changing request that comes with the session cookie needs the session's
CSRF token (the ``X-CSRF-Token`` header, or a form's ``csrf_token`` field); a bearer token needs none.

A page on another site can make the browser send a form-encoded or ``text/plain`` POST with the cookie attached
(SameSite=Lax does not stop a top-level form post). Before this check such a POST reset a password (and answered
with the new one), reset MFA, unlocked accounts, acknowledged alerts, and emptied a hotlist with an empty body.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from platekeeper.access.models import User
from platekeeper.hotlists.models import HotlistEntry
from tests.conftest import PASSWORD, Harness
from tests.hotlist_helpers import hotlist_with
from tests.test_routes import PATH_VALUES, _requirements

FOREIGN = {"Origin": "https://evil.example", "Referer": "https://evil.example/page"}


def _cross_site(harness: Harness, role: str) -> TestClient:
    """A browser signed in as ``role`` whose cookie is sent by another site's page: it has no CSRF token."""
    client = harness.signed_in(role)
    del client.headers["X-CSRF-Token"]
    client.headers["Sec-Fetch-Site"] = "cross-site"
    return client


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_state_changing_route_refuses_a_cookie_without_the_csrf_token(harness: Harness) -> None:
    admin = _cross_site(harness, "alpr_admin")
    walked = []
    for route in harness.client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        (requirement,) = _requirements(route.dependant)
        if requirement.kind in ("public", "camera", "sign_in_step"):  # the code steps: their own test below
            continue
        path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], route.path)
        for method in sorted(route.methods - {"GET", "HEAD"}):
            for kind, body in (("text/plain", "x"), ("application/x-www-form-urlencoded", "")):
                headers = {**FOREIGN, "Content-Type": kind}
                response = admin.request(method, path, content=body, headers=headers, follow_redirects=False)
                assert response.status_code == 403 and "CSRF" in response.text, (method, path, kind, response.text)
            walked.append((method, path))
    assert len(walked) >= 40  # every POST and DELETE of the API and the pages, sign-out included


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_forged_admin_actions_change_nothing(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    with harness.database.session() as session:
        dana = session.scalar(select(User).where(User.username == "dana"))
        assert dana is not None
        dana_id, hash_before, secret_before = dana.id, dana.password_hash, dana.totp_secret
    admin = _cross_site(harness, "alpr_admin")
    for action in ("password-reset", "mfa-reset", "unlock"):
        response = admin.post(f"/api/v1/users/{dana_id}/{action}", data={}, headers=FOREIGN)
        assert response.status_code == 403, (action, response.text)
        assert "password" not in response.json() and "CSRF" in response.json()["detail"]
    with harness.database.session() as session:
        dana = session.get(User, dana_id)
        assert dana is not None and (dana.password_hash, dana.totp_secret) == (hash_before, secret_before)
    harness.login("dana", TestClient(harness.client.app))  # the old password still works


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_forged_import_does_not_empty_a_list(harness: Harness) -> None:
    _, hotlist_id = hotlist_with(harness, "5SOW350,CA,VEH,stolen,,HOND,CIV,GRY\n")
    admin = _cross_site(harness, "alpr_admin")
    response = admin.post(
        f"/api/v1/hotlists/{hotlist_id}/import?mode=full",
        content=b"",
        headers={**FOREIGN, "Content-Type": "text/plain"},
    )
    assert response.status_code == 403
    with harness.database.session() as session:
        assert session.scalar(select(func.count()).select_from(HotlistEntry)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_token_from_sign_in_makes_the_same_call_work(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    admin = harness.signed_in("alpr_admin")  # the harness sends the token it was given at sign-in
    with harness.database.session() as session:
        dana_id = session.scalar(select(User.id).where(User.username == "dana"))
    response = admin.post(f"/api/v1/users/{dana_id}/unlock")
    assert response.status_code == 200, response.text
    assert admin.get("/api/v1/me").json()["csrf_token"] == admin.headers["X-CSRF-Token"]
    wrong = admin.post(f"/api/v1/users/{dana_id}/unlock", headers={"X-CSRF-Token": "not-this-sessions-token"})
    assert wrong.status_code == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bearer_tokens_need_no_csrf_token(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin")
    token = admin.post("/api/v1/account/tokens", json={"name": "script", "scopes": ["users.manage"]}).json()["token"]
    harness.user("dana", "sworn_officer")
    with harness.database.session() as session:
        dana_id = session.scalar(select(User.id).where(User.username == "dana"))
    script = TestClient(harness.client.app)
    response = script.post(f"/api/v1/users/{dana_id}/unlock", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sign_out_needs_the_token_and_the_page_form_carries_it(harness: Harness) -> None:
    officer = _cross_site(harness, "sworn_officer")
    assert officer.post("/logout", data={}, headers=FOREIGN, follow_redirects=False).status_code == 403
    assert officer.delete("/api/v1/session", headers=FOREIGN).status_code == 403
    assert officer.get("/api/v1/me").status_code == 200  # still signed in
    page = officer.get("/account").text
    token = re.search(r'action="/logout"><input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = officer.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert response.status_code == 303
    assert officer.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_one_time_code_step_needs_its_pending_sessions_token(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    browser = TestClient(harness.client.app)
    response = browser.post("/login", data={"username": "dana", "password": PASSWORD}, follow_redirects=False)
    assert response.headers["location"].startswith("/login/mfa")
    forged = browser.post("/login/mfa", data={"code": harness.code("dana")}, follow_redirects=False)
    assert forged.status_code == 403
    page = browser.get("/login/mfa").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None and token.group(1)
    done = browser.post(
        "/login/mfa", data={"code": harness.code("dana"), "csrf_token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert browser.get("/api/v1/me").status_code == 200
