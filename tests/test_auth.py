"""Sign-in, sign-out, sessions and CSRF: every sign-in and failure audited, sessions end on the server."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from platekeeper.access.models import UserSession
from platekeeper.audit.models import AuditEvent
from platekeeper.db import utcnow
from tests.conftest import PASSWORD, Harness, csrf_of


def _actions(harness: Harness) -> list[tuple[str, str | None, str]]:
    with harness.database.session() as session:
        return [(e.action, e.username, e.outcome) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_sign_in_and_out_are_audited(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    client = harness.client
    response = client.post("/api/v1/session", json={"username": "dana", "password": PASSWORD})
    assert response.status_code == 401 and response.json()["mfa_required"] is True  # the one-time code is required
    response = client.post(
        "/api/v1/session", json={"username": "dana", "password": PASSWORD, "code": harness.code("dana")}
    )
    assert response.status_code == 200
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain HTTP here
    assert client.get("/api/v1/me").json()["role"] == "sworn_officer"
    assert client.delete("/api/v1/session").json() == {"signed_out": True}
    assert client.get("/api/v1/me").status_code == 401
    assert ("auth.sign_in", "dana", "success") in _actions(harness)
    assert ("auth.sign_out", "dana", "success") in _actions(harness)


def test_failed_sign_in_is_audited_and_says_nothing_specific(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    for username in ("dana", "nobody"):
        response = harness.client.post("/api/v1/session", json={"username": username, "password": "wrong-password!"})
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong username or password, or the account is not active"
    failures = [a for a in _actions(harness) if a[0] == "auth.sign_in_failed"]
    assert failures == [
        ("auth.sign_in_failed", "dana", "failure"),
        ("auth.sign_in_failed", "nobody", "failure"),
    ]


def test_a_stolen_cookie_is_useless_after_sign_out(harness: Harness) -> None:
    client = harness.signed_in("records")
    token = client.cookies.get("pk_session")
    client.delete("/api/v1/session")
    thief = TestClient(harness.client.app, cookies={"pk_session": token})
    assert thief.get("/api/v1/me").status_code == 401


def test_idle_session_ends(harness: Harness) -> None:
    client = harness.signed_in("sworn_officer")
    idle = timedelta(minutes=harness.settings.web.session_idle_minutes + 1)
    with harness.database.session() as session:
        session.execute(update(UserSession).values(last_seen_at=utcnow() - idle))
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/search", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/search")


def test_session_cookie_is_secure_over_tls(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    tls = TestClient(harness.client.app, base_url="https://testserver")
    response = tls.post(
        "/api/v1/session", json={"username": "dana", "password": PASSWORD, "code": harness.code("dana")}
    )
    assert "secure" in response.headers["set-cookie"].lower()


def test_login_page_flow_and_no_open_redirect(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    client = TestClient(harness.client.app)
    bad = client.post("/login", data={"username": "dana", "password": "nope", "next": "/search"})
    assert bad.status_code == 401 and "wrong username or password" in bad.text
    good = client.post(
        "/login",
        data={"username": "dana", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/login/mfa?next=%2F"
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in before the code
    form = {"code": harness.code("dana"), "next": "/", "csrf_token": csrf_of(client.get("/login/mfa").text)}
    code = client.post("/login/mfa", data=form, follow_redirects=False)
    assert code.status_code == 303 and code.headers["location"] == "/"
    home = client.get("/").text
    assert "Welcome" in home
    out = client.post("/logout", data={"csrf_token": csrf_of(home)}, follow_redirects=False)
    assert out.status_code == 303 and client.get("/", follow_redirects=False).status_code == 303


def test_forms_need_the_csrf_token(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin")
    response = admin.post("/cameras", data={"name": "Sneaky", "kind": "fixed"})
    assert response.status_code == 403 and "form has expired" in response.text
    assert "Sneaky" not in admin.get("/cameras").text


def test_pages_send_security_headers(harness: Harness) -> None:
    response = harness.client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
