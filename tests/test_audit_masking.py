"""Auditors see what auditing needs, and no more (issue 23 item 6): the audit log's plates are masked for roles
without plate data, one plate of one event is revealed for a stated reason (recorded before it is shown), and the
audit log needs current training (the policy-review course) like plate data does."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import mask_plate
from tests.conftest import CONTEXT, Harness, csrf_of


def _search(harness: Harness, plate: str = "7ABC123") -> int:
    """An officer searches ``plate``: the seq of the search's audit event."""
    officer = harness.signed_in("sworn_officer", "dana")
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": plate}).status_code == 200
    with harness.database.session() as session:
        return session.scalars(select(AuditEvent.seq).where(AuditEvent.action == "reads.search")).one()


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize(
    ("plate", "masked"),
    [("7ABC123", "7AB***3"), ("ABC123", "ABC***3"), ("AB123", "A***3"), ("AB12", "A***2"), ("A12", "***"), ("", "")],
)
def test_mask_keeps_the_first_three_and_the_last_character_and_less_of_short_plates(plate: str, masked: str) -> None:
    assert mask_plate(plate) == masked


def test_an_untrained_auditor_cannot_read_the_audit_log(harness: Harness) -> None:
    _search(harness)
    untrained = harness.login(harness.user("lee", "auditor", trained=False), harness.client)
    for path in ("/api/v1/audit/events", "/audit", "/audits", "/api/v1/audits", "/audits/1", "/audits/1/report"):
        response = untrained.get(path)  # the system audits show each sampled search's justification too
        assert response.status_code == 403, (path, response.status_code)
        assert "7ABC123" not in response.text and "training" in response.text.lower()
    since = (datetime.now(harness.settings.tz).date() - timedelta(days=1)).isoformat()
    assert untrained.get("/api/v1/audit/export", params={"since": since}).status_code == 403


def test_the_auditor_role_needs_the_policy_review_course(harness: Harness) -> None:
    needed = {c.code for c in harness.settings.access.courses if "auditor" in c.required_for_roles}
    assert "policy_review" in needed


def test_an_auditor_sees_plates_masked_and_the_administrator_in_full(harness: Harness) -> None:
    _search(harness)
    auditor = harness.signed_in("auditor", "lee")
    events = auditor.get("/api/v1/audit/events", params={"action": "reads.search"}).json()["events"]
    assert [e["plate_texts"] for e in events] == [{"plate": "7AB***3"}]
    page = auditor.get("/audit", params={"action": "reads.search"})
    assert page.status_code == 200 and "7AB***3" in page.text and "7ABC123" not in page.text
    filtered = auditor.get("/audit", params={"plate": "7ABC123"})  # a filter the auditor typed is echoed, no more
    assert 'value="7ABC123"' in filtered.text and "7ABC123" not in filtered.text.split('<table class="audit">')[1]
    admin = harness.signed_in("alpr_admin")
    shown = admin.get("/api/v1/audit/events", params={"action": "reads.search"}).json()["events"]
    assert [e["plate_texts"] for e in shown] == [{"plate": "7ABC123"}]
    assert "7ABC123" in admin.get("/audit", params={"action": "reads.search"}).text


def test_an_auditors_export_is_masked(harness: Harness) -> None:
    _search(harness)
    auditor = harness.signed_in("auditor", "lee")
    since = (datetime.now(harness.settings.tz).date() - timedelta(days=1)).isoformat()
    response = auditor.get("/api/v1/audit/export", params={"since": since, "action": "reads.search"})
    assert response.status_code == 200 and "7ABC123" not in response.text
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert json.loads(row["plate_texts"]) == {"plate": "7AB***3"}


@pytest.mark.parametrize(
    ("reason", "why"),
    [("", "missing"), ("aaaaaaaaaaaaaaaa", "repeats"), ("short", "too short"), ("plate plate plate", "words")],
)
def test_a_reveal_needs_a_real_reason(harness: Harness, reason: str, why: str) -> None:
    seq = _search(harness)
    auditor = harness.signed_in("auditor", "lee")
    refused = auditor.post(f"/api/v1/audit/events/{seq}/reveal", json={"field": "plate", "reason": reason})
    assert refused.status_code == 400, refused.text
    assert "reason" in refused.json()["problems"] and why in refused.json()["problems"]["reason"]
    assert "grey sedan" not in refused.text  # an auditor's example, not an officer's
    assert "7ABC123" not in refused.text and _events(harness, "audit.reveal_plate") == []
    (recorded,) = _events(harness, "audit.reveal_refused")
    assert (recorded.outcome, recorded.username, recorded.details["revealed_seq"]) == ("denied", "lee", seq)


def test_an_auditor_reveals_one_plate_recorded_before_it_is_shown(harness: Harness) -> None:
    seq = _search(harness)
    auditor = harness.signed_in("auditor", "lee")
    reason = "complaint 2026-17 says this search targeted a neighbour; checking the plate named"
    shown = auditor.post(f"/api/v1/audit/events/{seq}/reveal", json={"field": "plate", "reason": reason})
    assert shown.status_code == 200, shown.text
    assert shown.json()["plate"] == "7ABC123" and shown.json()["seq"] == seq
    (revealed,) = _events(harness, "audit.reveal_plate")
    assert (revealed.username, revealed.justification) == ("lee", reason)
    assert revealed.details["revealed_seq"] == seq and revealed.details["field"] == "plate"
    assert shown.json()["reveal_seq"] == revealed.seq
    filtered = harness.signed_in("alpr_admin").get("/api/v1/audit/events", params={"plate": "7ABC123"})
    assert "audit.reveal_plate" in {e["action"] for e in filtered.json()["events"]}  # who saw the plate, found


def test_a_reveal_names_a_plate_field_of_an_existing_event(harness: Harness) -> None:
    seq = _search(harness)
    auditor = harness.signed_in("auditor", "lee")
    reason = "complaint 2026-17 says this search targeted a neighbour"
    missing = auditor.post("/api/v1/audit/events/999999/reveal", json={"field": "plate", "reason": reason})
    assert missing.status_code == 404
    wrong = auditor.post(f"/api/v1/audit/events/{seq}/reveal", json={"field": "case_number", "reason": reason})
    assert wrong.status_code == 400 and "field" in wrong.json()["problems"]
    assert _events(harness, "audit.reveal_plate") == []
    officer = harness.signed_in("sworn_officer")
    forbidden = officer.post(f"/api/v1/audit/events/{seq}/reveal", json={"field": "plate", "reason": reason})
    assert forbidden.status_code == 403


def test_the_page_reveals_a_plate_with_a_small_form(harness: Harness) -> None:
    seq = _search(harness)
    auditor = harness.signed_in("auditor", "lee")
    page = auditor.get("/audit", params={"action": "reads.search"})
    action = f"/audit/events/{seq}/reveal"
    assert f'action="{action}"' in page.text and 'name="reason"' in page.text
    token = csrf_of(page.text)
    bad = auditor.post(action, data={"csrf_token": token, "field": "plate", "reason": "aaaaaaaaaaaaa"})
    assert bad.status_code == 400 and "reason:" in bad.text and "7ABC123" not in bad.text
    assert 'aria-invalid="true"' in bad.text
    reason = "complaint 2026-17 says this search targeted a neighbour"
    good = auditor.post(action, data={"csrf_token": token, "field": "plate", "reason": reason})
    assert good.status_code == 200 and "7ABC123" in good.text
    assert len(_events(harness, "audit.reveal_plate")) == 1


def test_a_plate_typed_into_a_justification_is_masked_for_the_auditor_too(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    said = {**CONTEXT, "justification": "grey sedan 7ABC123 seen leaving the burglary on 5th St"}
    assert officer.get("/api/v1/reads", params={**said, "plate": "7ABC123"}).status_code == 200
    auditor = harness.signed_in("auditor", "lee")
    since = (datetime.now(harness.settings.tz).date() - timedelta(days=1)).isoformat()
    for answer in (
        auditor.get("/api/v1/audit/events", params={"action": "reads.search"}),
        auditor.get("/audit", params={"action": "reads.search"}),
        auditor.get("/api/v1/audit/export", params={"since": since, "action": "reads.search"}),
    ):
        assert answer.status_code == 200 and "7ABC123" not in answer.text and "grey sedan 7AB***3 seen" in answer.text
    assert "5th St" in answer.text  # ordinary words stay
    admin = harness.signed_in("alpr_admin")
    assert "grey sedan 7ABC123 seen" in admin.get("/api/v1/audit/events", params={"action": "reads.search"}).text
