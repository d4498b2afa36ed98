"""Personal API tokens: scoped to permissions, expiring, revocable, stored hashed; camera keys stay separate."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from platekeeper.access.models import ApiToken
from platekeeper.audit.models import AuditEvent
from platekeeper.db import utcnow
from tests.conftest import CONTEXT, Harness, make_read


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(client: TestClient, scopes: list[str], **extra: object) -> dict:
    response = client.post("/api/v1/account/tokens", json={"name": "report script", "scopes": scopes, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_token_acts_within_its_scopes_and_is_audited_under_its_owner(harness: Harness) -> None:
    _, key = harness.camera()
    harness.client.post("/api/v1/reads", json={"reads": [make_read("7ABC123")]}, headers=_bearer(key))
    officer = harness.signed_in("sworn_officer", "dana")
    created = _create(officer, ["reads.search"])
    token = created["token"]
    assert token.startswith("pkt_") and created["prefix"] == token[:10]
    anonymous = TestClient(harness.client.app)
    found = anonymous.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}, headers=_bearer(token))
    assert found.status_code == 200 and found.json()["total"] == 1
    read_id = found.json()["results"][0]["id"]
    outside = anonymous.get(f"/api/v1/reads/{read_id}", params=CONTEXT, headers=_bearer(token))
    assert outside.status_code == 403 and "scopes" in outside.json()["detail"]
    me = anonymous.get("/api/v1/me", headers=_bearer(token)).json()
    assert me["username"] == "dana" and me["via_token"] is True and me["permissions"] == ["reads.search"]
    with harness.database.session() as session:
        search = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.search")).one()
        stored = session.scalars(select(ApiToken)).one()
    assert search.username == "dana" and search.case_number == CONTEXT["case_number"]
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(stored.__dict__)
    assert stored.last_used_at is not None


def test_scopes_must_be_permissions_the_role_grants(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer")
    response = officer.post("/api/v1/account/tokens", json={"name": "x", "scopes": ["users.manage"]})
    assert response.status_code == 400 and "scopes: ['users.manage']" in response.json()["detail"]
    too_long = officer.post(
        "/api/v1/account/tokens", json={"name": "x", "scopes": ["reads.search"], "expires_in_days": 200}
    )
    assert too_long.status_code == 400 and "expires_in_days" in too_long.json()["detail"]


def test_revoked_and_expired_tokens_stop_at_once(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer")
    first, second = _create(officer, ["reads.search"]), _create(officer, ["reads.search"])
    anonymous = TestClient(harness.client.app)
    assert anonymous.get("/api/v1/me", headers=_bearer(first["token"])).status_code == 200
    assert officer.delete(f"/api/v1/account/tokens/{first['id']}").json()["revoked"] is True
    revoked = anonymous.get("/api/v1/me", headers=_bearer(first["token"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    with harness.database.session() as session:
        session.execute(update(ApiToken).where(ApiToken.id == second["id"]).values(expires_at=utcnow() - timedelta(1)))
    assert anonymous.get("/api/v1/me", headers=_bearer(second["token"])).status_code == 401
    other = harness.signed_in("records")
    assert other.delete(f"/api/v1/account/tokens/{second['id']}").status_code == 404
    with harness.database.session() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("auth.token_%"))).all()
    assert actions == ["auth.token_created", "auth.token_created", "auth.token_revoked"]


def test_tokens_and_camera_keys_do_not_mix(harness: Harness) -> None:
    _, camera_key = harness.camera()
    officer = harness.signed_in("sworn_officer")
    token = _create(officer, ["reads.search"])["token"]
    anonymous = TestClient(harness.client.app)
    upload = anonymous.post("/api/v1/reads", json={"reads": [make_read()]}, headers=_bearer(token))
    assert upload.status_code == 401 and "camera API key" in upload.json()["detail"]
    as_user = anonymous.get("/api/v1/me", headers=_bearer(camera_key))
    assert as_user.status_code == 401 and "pkt_" in as_user.json()["detail"]
    nested = anonymous.post(
        "/api/v1/account/tokens", json={"name": "n", "scopes": ["reads.search"]}, headers=_bearer(token)
    )
    assert nested.status_code == 403  # a token cannot mint tokens


def test_a_deactivated_owner_takes_their_tokens_down(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    token = _create(officer, ["reads.search"])["token"]
    admin = harness.signed_in("alpr_admin")
    user_id = officer.get("/api/v1/me").json()  # still fine before
    assert user_id["username"] == "dana"
    users = admin.get("/api/v1/users").json()["users"]
    dana = next(u for u in users if u["username"] == "dana")
    admin.post(f"/api/v1/users/{dana['id']}/deactivate", json={"reason": "separated"})
    assert TestClient(harness.client.app).get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_tokens_from_the_account_page_are_shown_once(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer")
    page = officer.get("/account")
    assert page.status_code == 200 and "Personal API tokens" in page.text and "Training (policy 462.10)" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    made = officer.post("/account/tokens", data={"csrf_token": csrf, "name": "laptop", "scopes": ["reads.search"]})
    token = re.search(r'id="new-token">(pkt_[A-Za-z0-9_-]+)<', made.text).group(1)
    assert token not in officer.get("/account").text
    assert officer.post("/account/tokens", data={"name": "x", "scopes": ["reads.search"]}).status_code == 403
