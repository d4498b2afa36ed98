"""Training (policy 462.10): without current required training no plate data, through any door, and the refusal
names the course; records hold date, instructor and evidence; the administrator sees what expires soon."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from platekeeper.access.context import AccessContext, build_access_context, require_context
from platekeeper.access.models import User
from platekeeper.access.principal import TrainingRequired
from platekeeper.access.service import principal_for
from platekeeper.access.training import add_months, add_training_record
from platekeeper.audit.models import AuditEvent
from platekeeper.db import utcnow
from tests.conftest import CONTEXT, Harness, make_read

EQUIPMENT = "Use and operation of the ALPR equipment"
POLICY = "Review of Department Policy 462"


def agency_today(harness: Harness) -> date:
    """Today in the agency's time zone, as the service judges "in the future" (not the machine's local date)."""
    return utcnow().astimezone(harness.settings.tz).date()


def _id(harness: Harness, username: str) -> int:
    with harness.database.session() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def _train(harness: Harness, username: str, course: str, completed_on: date) -> None:
    with harness.database.session() as session:
        add_training_record(
            harness.work(session), _id(harness, username),
            course=course, completed_on=completed_on, instructor="Sgt. Lopez", evidence="sign-in sheet 2026-14",
        )  # fmt: skip


def _upload(harness: Harness) -> str:
    _, key = harness.camera()
    read = make_read("7ABC123")
    harness.client.post("/api/v1/reads", json={"reads": [read]}, headers={"Authorization": f"Bearer {key}"})
    return read["id"]


def test_an_untrained_officer_is_refused_plate_data_naming_the_courses(harness: Harness) -> None:
    read_id = _upload(harness)
    harness.user("dana", "sworn_officer", trained=False)
    officer = harness.login("dana")
    api = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"})
    assert api.status_code == 403
    detail = api.json()["detail"]
    assert "current training (policy 462.10)" in detail and EQUIPMENT in detail and POLICY in detail
    assert "has no training record" in detail
    for path in ("/search", f"/reads/{read_id}", f"/api/v1/reads/{read_id}", f"/api/v1/reads/{read_id}/images/crop"):
        response = officer.get(path, params=CONTEXT)
        assert response.status_code == 403 and EQUIPMENT in response.text, path
    assert officer.get("/api/v1/me").json()["training_gaps"]  # signed in, just not to plate data
    with harness.database.session() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.training_refused")).all()
        searches = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.search")).all()
    assert len(refusals) == 5 and refusals[0].username == "dana" and refusals[0].outcome == "denied"
    assert refusals[0].details["attempted"] == "reads.search" and len(refusals[0].details["courses"]) == 2
    assert searches == []


def test_an_expired_refresher_is_named_with_its_date_and_new_training_opens_the_door(harness: Harness) -> None:
    _upload(harness)
    harness.user("dana", "sworn_officer", trained=False)
    today = agency_today(harness)
    _train(harness, "dana", "equipment_operation", today - timedelta(days=30))
    old = today - timedelta(days=400)
    _train(harness, "dana", "policy_review", old)
    officer = harness.login("dana")
    refused = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).json()["detail"]
    assert POLICY in refused and f"expired on {add_months(old, 12)}" in refused and EQUIPMENT not in refused
    admin = harness.signed_in("alpr_admin")
    body = {
        "course": "policy_review",
        "completed_on": today.isoformat(),
        "instructor": "Lt. Chen",
        "evidence": "quiz 92%",
    }
    assert admin.post(f"/api/v1/users/{_id(harness, 'dana')}/training", json=body).status_code == 201
    found = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"})
    assert found.status_code == 200 and found.json()["total"] == 1
    with harness.database.session() as session:
        added = session.scalars(select(AuditEvent).where(AuditEvent.action == "training.record_added")).all()
    assert added[-1].details["course"] == "policy_review" and added[-1].details["instructor"] == "Lt. Chen"


def test_training_records_are_checked(harness: Harness) -> None:
    harness.user("dana", "sworn_officer", trained=False)
    admin = harness.signed_in("alpr_admin")
    url = f"/api/v1/users/{_id(harness, 'dana')}/training"
    base = {
        "course": "policy_review",
        "completed_on": agency_today(harness).isoformat(),
        "instructor": "Lt. Chen",
        "evidence": "x",
    }
    future = admin.post(url, json={**base, "completed_on": (agency_today(harness) + timedelta(days=3)).isoformat()})
    assert future.status_code == 400 and "completed_on: must not be in the future" in future.json()["detail"]
    unknown = admin.post(url, json={**base, "course": "yoga"})
    assert unknown.status_code == 400 and "course: 'yoga'" in unknown.json()["detail"]
    assert admin.post("/api/v1/users/999999/training", json=base).status_code == 400
    assert harness.signed_in("sworn_officer").post(url, json=base).status_code == 403


def test_the_administrator_sees_training_that_expires_soon(harness: Harness) -> None:
    harness.user("dana", "sworn_officer", trained=False)
    harness.user("sam", "records")  # current
    soon = add_months(agency_today(harness), -12) + timedelta(days=10)  # the 12-month refresher falls due in 10 days
    _train(harness, "dana", "policy_review", soon)
    _train(harness, "dana", "equipment_operation", agency_today(harness))
    admin = harness.signed_in("alpr_admin")
    listed = admin.get("/api/v1/training/expiring").json()["courses"]
    mine = [c for c in listed if c["username"] == "dana"]
    assert [(c["course"], c["state"]) for c in mine] == [("policy_review", "expiring")]
    assert not [c for c in listed if c["username"] == "sam"]
    page = admin.get("/users")
    assert "Training that needs attention" in page.text and POLICY in page.text
    harness.login("dana")  # expiring soon is still current: plate data stays open until the date


def test_every_plate_data_service_is_gated_through_the_access_context(harness: Harness) -> None:
    """Future services (hotlists, alerts, exports) use build_access_context/require_context and get the gate."""
    harness.user("dana", "sworn_officer", trained=False)
    with harness.database.session() as session:
        user = session.scalars(select(User).where(User.username == "dana")).one()
        untrained = principal_for(user, harness.settings, ("course 'x' has no training record",))
        trained = principal_for(user, harness.settings)
    with pytest.raises(TrainingRequired, match="course 'x' has no training record"):
        build_access_context(untrained, harness.settings.access, **CONTEXT)
    ctx = build_access_context(trained, harness.settings.access, **CONTEXT)
    forged = replace(ctx, principal=untrained)
    assert isinstance(forged, AccessContext)
    with pytest.raises(TrainingRequired):
        require_context(forged, "reads.search")
    assert require_context(ctx, "reads.search") is ctx


def test_a_record_entered_in_error_is_voided_and_stays_on_file(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    admin = harness.signed_in("alpr_admin")
    dana = _id(harness, "dana")
    page = admin.get(f"/users/{dana}")
    record_id = re.search(rf'action="/users/{dana}/training/(\d+)/void"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    short = admin.post(f"/users/{dana}/training/{record_id}/void", data={"csrf_token": csrf, "reason": "no"})
    assert short.status_code == 400 and "reason" in short.text
    done = admin.post(f"/users/{dana}/training/{record_id}/void", data={"csrf_token": csrf, "reason": "wrong person"})
    assert done.status_code == 200 and "void: wrong person" in done.text
    officer = harness.login("dana")
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).status_code == 403
    again = admin.post(f"/api/v1/users/{dana}/training/{record_id}/void", json={"reason": "wrong person"})
    assert again.status_code == 400
