"""The account lifecycle: requested -> approved by someone else -> active -> suspended or deactivated; role changes,
MFA resets, and the semi-annual account review."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from platekeeper.access.models import User
from platekeeper.audit.models import AuditEvent
from platekeeper.db import utcnow
from tests.conftest import PASSWORD, Harness


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _id(harness: Harness, username: str) -> int:
    with harness.database.session() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def _user(harness: Harness, username: str) -> User:
    with harness.database.session() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _request(client: TestClient, username: str, role: str = "records") -> dict:
    body = {"username": username, "display_name": username.title(), "role": role, "password": PASSWORD}
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _idle_past_the_suspension(harness: Harness, username: str) -> None:
    """Date every activity of the account back past access.accounts.inactive_suspend_days."""
    days = harness.settings.access.accounts.inactive_suspend_days
    with harness.database.session() as session:
        old = utcnow() - timedelta(days=days, hours=1)
        session.execute(
            update(User)
            .where(User.username == username)
            .values(last_activity_at=old, last_login_at=old, approved_at=old, created_at=old)
        )


def test_a_requested_account_cannot_sign_in_until_someone_else_approves_it(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin", "ada")
    requested = _request(admin, "sam")
    assert requested["status"] == "requested" and requested["requested_by"] == "ada"
    early = harness.client.post("/api/v1/session", json={"username": "sam", "password": PASSWORD})
    assert early.status_code == 401 and "waiting for approval" in early.json()["detail"]
    own = admin.post(f"/api/v1/users/{requested['id']}/approve")
    assert own.status_code == 403 and "someone other than the person who requested it" in own.json()["detail"]
    refused = _events(harness, "users.approve_refused")
    assert len(refused) == 1 and refused[0].username == "ada" and refused[0].outcome == "denied"
    other = harness.signed_in("alpr_admin", "bea")
    approved = other.post(f"/api/v1/users/{requested['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert approved.json()["approved_by"] == "bea"
    assert [(e.username, e.details["username"]) for e in _events(harness, "users.approve")] == [("bea", "sam")]
    assert other.post(f"/api/v1/users/{requested['id']}/approve").status_code == 409


def test_no_one_approves_a_role_with_rights_they_lack(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin")
    wanted = _request(admin, "newadmin", role="alpr_admin")
    manager = harness.signed_in("records_manager")
    response = manager.post(f"/api/v1/users/{wanted['id']}/approve")
    assert response.status_code == 403 and "users.manage" in response.json()["detail"]
    clerk = _request(admin, "clerk", role="records")
    assert manager.post(f"/api/v1/users/{clerk['id']}/approve").json()["status"] == "active"


def test_deactivation_ends_open_sessions_at_once(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    second = harness.login("dana", TestClient(harness.client.app))
    assert officer.get("/api/v1/me").status_code == 200
    admin = harness.signed_in("alpr_admin")
    missing = admin.post(f"/api/v1/users/{_id(harness, 'dana')}/deactivate", json={})
    assert missing.status_code == 422
    done = admin.post(f"/api/v1/users/{_id(harness, 'dana')}/deactivate", json={"reason": "left the department"})
    assert done.status_code == 200 and done.json()["status"] == "deactivated"
    assert officer.get("/api/v1/me").status_code == 401 and second.get("/api/v1/me").status_code == 401
    event = _events(harness, "users.deactivate")[0]
    assert event.details["sessions_ended"] == 2 and event.details["reason"] == "left the department"
    again = harness.client.post("/api/v1/session", json={"username": "dana", "password": PASSWORD})
    assert again.status_code == 401 and "deactivated" in again.json()["detail"]


def test_accounts_inactive_for_90_days_are_suspended(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    harness.user("sam", "records")
    _idle_past_the_suspension(harness, "dana")
    response = harness.client.post(
        "/api/v1/session", json={"username": "dana", "password": PASSWORD, "code": harness.code("dana")}
    )
    assert response.status_code == 401 and "suspended" in response.json()["detail"]
    suspended = _events(harness, "users.suspend")
    assert [e.details["username"] for e in suspended] == ["dana"] and suspended[0].client == "inactivity"
    harness.login("sam")  # active recently: unaffected
    admin = harness.signed_in("alpr_admin")
    back = admin.post(f"/api/v1/users/{_id(harness, 'dana')}/reactivate")
    assert back.status_code == 200 and back.json()["status"] == "active"
    harness.login("dana", TestClient(harness.client.app))


def test_a_token_of_an_account_inactive_for_90_days_suspends_it_for_good(harness: Harness) -> None:
    """The token request was refused, but the suspension and its event were rolled back with it, and the
    account's old cookie session still worked."""
    officer = harness.signed_in("sworn_officer", "dana")
    token = officer.post("/api/v1/account/tokens", json={"name": "laptop", "scopes": ["reads.search"]}).json()
    _idle_past_the_suspension(harness, "dana")
    script = TestClient(harness.client.app)
    response = script.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert response.status_code == 401
    assert _user(harness, "dana").status == "suspended"
    assert [e.details["username"] for e in _events(harness, "users.suspend")] == ["dana"]
    assert officer.get("/api/v1/me").status_code == 401  # the cookie session ended with the suspension


def test_a_role_with_more_rights_needs_a_new_approval(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    admin = harness.signed_in("alpr_admin", "ada")
    response = admin.post(f"/api/v1/users/{_id(harness, 'dana')}/role", json={"role": "records_manager"})
    assert response.status_code == 200 and response.json()["status"] == "requested"
    assert officer.get("/api/v1/me").status_code == 401  # the old session ended with the change
    event = _events(harness, "users.role_change")[0]
    assert {"audit.view", "users.approve"} <= set(event.details["gained"]) and event.details["from"] == "sworn_officer"
    assert admin.post(f"/api/v1/users/{_id(harness, 'dana')}/approve").status_code == 403  # ada asked for it
    bad = admin.post(f"/api/v1/users/{_id(harness, 'dana')}/role", json={"role": "sheriff"})
    assert bad.status_code == 400 and "sheriff" in bad.json()["detail"]


def test_the_admin_page_shows_the_approval_queue_and_approves(harness: Harness) -> None:
    ada = harness.signed_in("alpr_admin", "ada")
    _request(ada, "sam")
    bea = harness.signed_in("alpr_admin", "bea")
    page = bea.get("/users")
    assert "Waiting for approval (1)" in page.text and 'action="/users/' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = bea.post(f"/users/{_id(harness, 'sam')}/approve", data={"csrf_token": token})
    assert done.status_code == 200 and "Approved" in done.text and "<b>active</b>" in done.text
    own_page = ada.get("/users")
    assert "Waiting for approval (0)" in own_page.text


def test_mfa_reset_sends_the_user_back_to_enrolment(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    admin = harness.signed_in("alpr_admin")
    assert admin.post(f"/api/v1/users/{_id(harness, 'dana')}/mfa-reset").json()["mfa_enrolled"] is False
    assert officer.get("/api/v1/me").status_code == 401
    browser = TestClient(harness.client.app)
    step = browser.post("/login", data={"username": "dana", "password": PASSWORD, "next": "/"})
    assert "/login/enrol" in str(step.url)
    assert [e.details["username"] for e in _events(harness, "auth.mfa_reset")] == ["dana"]


def test_account_review_lists_access_and_is_signed_off(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    harness.user("newbie", "records", trained=False)
    auditor = harness.signed_in("auditor", "lee")
    review = auditor.get("/api/v1/reviews/accounts").json()
    rows = {r["username"]: r for r in review["accounts"]}
    assert review["overdue"] is True and review["last_signed_off_by"] is None
    assert rows["dana"]["approved_by"] == "system:test" and rows["dana"]["training"] == "current"
    assert "missing" in rows["newbie"]["training"] and rows["dana"]["mfa"] is True
    short = auditor.post("/api/v1/reviews/accounts", json={"note": "ok"})
    assert short.status_code == 400 and "note" in short.json()["detail"]
    signed = auditor.post("/api/v1/reviews/accounts", json={"note": "checked every account against the roster"})
    assert signed.status_code == 201 and signed.json()["signed_off_by"] == "lee"
    after = auditor.get("/api/v1/reviews/accounts").json()
    assert after["overdue"] is False and after["last_signed_off_by"] == "lee"
    page = auditor.get("/reviews/accounts")
    assert page.status_code == 200 and "Last signed off by <b>lee</b>" in page.text
    assert len(_events(harness, "users.review_signed_off")) == 1
    assert harness.signed_in("sworn_officer").get("/reviews/accounts").status_code == 403


def test_permission_changes_in_the_config_are_audited(harness: Harness) -> None:
    from platekeeper.access.policy_audit import record_policy_changes
    from platekeeper.config import load_settings

    with harness.database.session() as session:
        first = record_policy_changes(harness.work(session))
        assert "sworn_officer" in first
        assert record_policy_changes(harness.work(session)) == {}  # nothing changed
    roles = {code: role.model_dump() for code, role in harness.settings.access.roles.items()}
    roles["auditor"]["permissions"] = [*roles["auditor"]["permissions"], "cameras.view"]
    changed = load_settings(data_dir=harness.settings.data_dir, database_url=harness.settings.database_url,
                            access={"password_hash": {"time_cost": 1, "memory_kib": 1024, "parallelism": 1},
                                    "roles": roles})  # fmt: skip
    with harness.database.session() as session:
        assert record_policy_changes(replace(harness.work(session), settings=changed)) == {
            "auditor": {"gained": ["cameras.view"], "lost": [], "courses": ["policy_review"]}
        }
    assert len(_events(harness, "access.policy_changed")) == 2


def test_a_forgotten_password_is_replaced_by_an_administrator(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    admin = harness.signed_in("alpr_admin", "ada")
    new = admin.post(f"/api/v1/users/{_id(harness, 'dana')}/password-reset").json()["password"]
    assert officer.get("/api/v1/me").status_code == 401
    old = harness.client.post("/api/v1/session", json={"username": "dana", "password": PASSWORD})
    assert old.status_code == 401
    body = {"username": "dana", "password": new, "code": harness.code("dana")}
    assert harness.client.post("/api/v1/session", json=body).status_code == 200
    assert admin.post(f"/api/v1/users/{_id(harness, 'ada')}/password-reset").status_code == 403
    assert [e.details["username"] for e in _events(harness, "auth.password_reset")] == ["dana"]
