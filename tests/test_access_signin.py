"""Signing in: lockout and its timing, TOTP enrolment and sign-in, recovery codes, replays, the idle session lock,
the password rules and what a half-signed-in (pending) session can reach."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from platekeeper.access.models import RecoveryCode, User, UserSession
from platekeeper.audit.models import AuditEvent
from platekeeper.db import utcnow
from tests.conftest import PASSWORD, Harness, csrf_of


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _user(harness: Harness, username: str) -> User:
    with harness.database.session() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _api(client: TestClient, username: str, password: str, code: str | None = None):
    body = {"username": username, "password": password} | ({"code": code} if code else {})
    return client.post("/api/v1/session", json=body)


def test_five_failures_lock_the_account_for_ten_minutes(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    policy = harness.settings.access.authentication
    for _ in range(policy.lockout_attempts - 1):
        assert _api(harness.client, "dana", "wrong-password-1").status_code == 401
    before = utcnow()
    locked = _api(harness.client, "dana", "wrong-password-1")
    assert locked.status_code == 423 and "locked until" in locked.json()["detail"]
    until = _user(harness, "dana").locked_until
    assert (
        timedelta(minutes=policy.lockout_minutes)
        <= until - before
        < timedelta(minutes=policy.lockout_minutes, seconds=5)
    )
    # the right password and code do not help while locked
    assert _api(harness.client, "dana", PASSWORD, harness.code("dana")).status_code == 423
    lockouts = _events(harness, "auth.lockout")
    assert len(lockouts) == 1 and lockouts[0].username == "dana" and lockouts[0].details["attempts"] == 5
    # nine minutes later: still locked; past the lock: the right password and code sign in
    with harness.database.session() as session:
        session.execute(update(User).values(locked_until=utcnow() + timedelta(minutes=1)))
    assert _api(harness.client, "dana", PASSWORD, harness.code("dana")).status_code == 423
    with harness.database.session() as session:
        session.execute(update(User).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert _api(harness.client, "dana", PASSWORD, harness.code("dana")).status_code == 200
    assert _user(harness, "dana").failed_attempts == 0


def test_wrong_one_time_codes_count_towards_the_lockout(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    for _ in range(4):
        assert _api(harness.client, "dana", PASSWORD, "000000").status_code == 401
    assert _api(harness.client, "dana", PASSWORD, "000000").status_code == 423
    reasons = [e.details["reason"] for e in _events(harness, "auth.sign_in_failed")]
    assert reasons == ["bad one-time code"] * 5


def test_a_used_totp_code_cannot_be_replayed(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    code = harness.code("dana")
    assert _api(TestClient(harness.client.app), "dana", PASSWORD, code).status_code == 200
    replay = _api(TestClient(harness.client.app), "dana", PASSWORD, code)
    assert replay.status_code == 401 and replay.json()["detail"] == "the one-time code is wrong"


def test_first_sign_in_enrols_mfa_with_a_qr_code_and_recovery_codes(harness: Harness) -> None:
    harness.user("sam", "records", enrolled=False)
    browser = TestClient(harness.client.app)
    step = browser.post("/login", data={"username": "sam", "password": PASSWORD, "next": "/search"})
    assert step.status_code == 200 and str(step.url).endswith("/login/enrol?next=%2Fsearch")
    assert "<svg" in step.text and "Set up your authenticator" in step.text
    assert browser.get("/api/v1/me").status_code == 401  # nothing is reachable before the enrolment
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', step.text).group(1)
    csrf = csrf_of(step.text)
    wrong = browser.post("/login/enrol", data={"code": "123456", "next": "/search", "csrf_token": csrf})
    assert wrong.status_code == 401 and "one-time code is wrong" in wrong.text
    done = browser.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(), "next": "/search", "csrf_token": csrf})
    assert done.status_code == 200 and "shown only now" in done.text
    codes = re.findall(r'<code class="key">([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>', done.text)
    assert len(codes) == harness.settings.access.authentication.recovery_codes
    assert browser.get("/api/v1/me").json()["mfa_enrolled"] is True
    assert [e.username for e in _events(harness, "auth.mfa_enrolled")] == ["sam"]
    stored_secret = _user(harness, "sam").totp_secret
    assert stored_secret.startswith("v1:") and secret not in stored_secret  # sealed with a key outside the database
    with harness.database.session() as session:
        stored = session.scalars(select(RecoveryCode.code_hash)).all()
    assert codes[0] not in stored and len(stored) == len(codes)  # only hashes are kept
    # a recovery code signs in once
    assert _api(TestClient(harness.client.app), "sam", PASSWORD, codes[0]).status_code == 200
    assert _api(TestClient(harness.client.app), "sam", PASSWORD, codes[0]).status_code == 401
    assert len(_events(harness, "auth.recovery_code_used")) == 1


def test_web_sign_in_asks_for_the_code_and_rotates_the_cookie(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    browser = TestClient(harness.client.app)
    browser.post("/login", data={"username": "dana", "password": PASSWORD, "next": "/"}, follow_redirects=False)
    pending = browser.cookies.get("pk_session")
    assert browser.get("/", follow_redirects=False).status_code == 303
    assert browser.get("/search", follow_redirects=False).status_code == 303
    page = browser.get("/login/mfa")
    assert page.status_code == 200 and "One-time code" in page.text
    form = {"code": harness.code("dana"), "next": "/", "csrf_token": csrf_of(page.text)}
    done = browser.post("/login/mfa", data=form, follow_redirects=False)
    assert done.status_code == 303 and browser.cookies.get("pk_session") != pending
    assert browser.get("/").status_code == 200
    thief = TestClient(harness.client.app, cookies={"pk_session": pending})
    assert (
        thief.get("/api/v1/me").status_code == 401
        and thief.get("/login/mfa", follow_redirects=False).status_code == 303
    )
    sign_ins = _events(harness, "auth.sign_in")
    assert sign_ins[-1].username == "dana" and sign_ins[-1].details["factors"] == "totp"


def test_the_code_step_needs_a_password_first(harness: Harness) -> None:
    assert harness.client.get("/login/mfa", follow_redirects=False).status_code == 303
    response = harness.client.post("/login/enrol", data={"code": "123456"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_idle_session_locks_and_the_page_says_so(harness: Harness) -> None:
    client = harness.signed_in("sworn_officer")
    page = client.get("/")
    assert 'src="/static/idle-lock.js"' in page.text
    assert f'data-idle-seconds="{harness.settings.web.session_idle_minutes * 60}"' in page.text
    idle = timedelta(minutes=harness.settings.web.session_idle_minutes, seconds=1)
    with harness.database.session() as session:
        session.execute(update(UserSession).values(last_seen_at=utcnow() - idle))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert "session locked" in client.get("/login?locked=1").text


def test_an_api_sign_in_of_an_unenrolled_account_is_sent_to_the_web_page(harness: Harness) -> None:
    harness.user("sam", "records", enrolled=False)
    response = _api(harness.client, "sam", PASSWORD)
    assert response.status_code == 403 and "enrol" in response.json()["detail"]


def test_common_and_short_passwords_are_refused(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin")
    body = {"username": "newbie", "display_name": "New", "role": "records"}
    for password, rule in [
        ("short-one", "at least 12 characters"),
        ("password1234", "common or breached"),
        ("Qwertyuiop123!", "common or breached"),
        ("newbie-newbie-2026", "must not contain the username"),
    ]:
        response = admin.post("/api/v1/users", json={**body, "password": password})
        assert response.status_code == 400 and rule in response.json()["detail"], password
    assert admin.get("/api/v1/users", params={"status": "requested"}).json()["users"] == []


def test_password_change_needs_the_current_one_and_ends_other_sessions(harness: Harness) -> None:
    import re as _re

    first = harness.signed_in("records", "sam")
    other = harness.login("sam", TestClient(harness.client.app))
    token = _re.search(r'name="csrf_token" value="([^"]+)"', first.get("/account").text).group(1)
    bad = first.post("/account/password", data={"csrf_token": token, "current_password": "nope-nope-nope",
                                                "new_password": "a-brand-new-passphrase"})  # fmt: skip
    assert bad.status_code == 400 and "not your current password" in bad.text
    good = first.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                 "new_password": "a-brand-new-passphrase"})  # fmt: skip
    assert good.status_code == 200 and "Password changed" in good.text
    assert first.get("/api/v1/me").status_code == 200 and other.get("/api/v1/me").status_code == 401
    outcomes = [e.outcome for e in _events(harness, "auth.password_change")]
    assert outcomes == ["failure", "success"]
