"""Notices reach the right homes and are acknowledged only with a note; a tampered audit chain found by the
scheduled verification (or by ``platekeeper audit verify``) raises a breach notice shown on every administrator
page until someone acknowledges it (policy 462.6, issue 23 items 5 and 7)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.signing import InstallationKey
from platekeeper.guards.verification import VerificationSchedule
from platekeeper.notices.models import Notice
from tests.conftest import Harness, csrf_of
from tests.guard_helpers import plant_notices
from tests.test_audit import _drop_guards
from tests.test_cli import _cli

ADMIN_PAGES = ["/", "/users", "/cameras", "/audit", "/retention", "/notices", "/account"]


def test_notices_reach_supervisors_and_the_administrator_but_not_the_officer(harness: Harness) -> None:
    guard_id, breach_id = plant_notices(harness, subject="olive")
    supervisor = harness.signed_in("supervisor")
    home = supervisor.get("/").text
    assert f"#{guard_id}" in home and "searches without a plate" in home
    listed = supervisor.get("/api/v1/notices").json()["notices"]
    assert [n["id"] for n in listed] == [guard_id]  # the breach notice is for the custodian
    assert "breach-banner" not in home
    admin = harness.signed_in("alpr_admin")
    assert {n["id"] for n in admin.get("/api/v1/notices").json()["notices"]} == {guard_id, breach_id}
    assert admin.get("/api/v1/notices").json()["notices"][0]["id"] == breach_id  # breaches first
    custodian = harness.signed_in("records_manager")
    assert breach_id in {n["id"] for n in custodian.get("/api/v1/notices").json()["notices"]}
    officer = harness.login("olive", harness.client)
    assert officer.get("/api/v1/notices").status_code == 403
    assert officer.get("/notices").status_code == 403
    auditor = harness.signed_in("auditor")
    assert auditor.get("/api/v1/notices").status_code == 403


def test_a_supervisor_does_not_see_a_notice_about_their_own_searches(harness: Harness) -> None:
    sam = harness.login(harness.user("sam", "supervisor"), harness.client)
    guard_id, _ = plant_notices(harness, subject="sam")
    assert sam.get("/api/v1/notices").json()["notices"] == []
    refused = sam.post(f"/api/v1/notices/{guard_id}/acknowledge", json={"note": "looked at my own searches"})
    assert refused.status_code == 404


def test_acknowledging_needs_a_note(harness: Harness) -> None:
    guard_id, _ = plant_notices(harness)
    supervisor = harness.signed_in("supervisor", "sarge")
    for note in ("", "ok"):
        refused = supervisor.post(f"/api/v1/notices/{guard_id}/acknowledge", json={"note": note})
        assert refused.status_code == 400 and "note" in refused.json()["problems"]
    assert supervisor.post(f"/api/v1/notices/{guard_id}/acknowledge", json={}).status_code == 422
    done = supervisor.post(
        f"/api/v1/notices/{guard_id}/acknowledge", json={"note": "spoke with the officer: a burglary series"}
    )
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "sarge"
    again = supervisor.post(f"/api/v1/notices/{guard_id}/acknowledge", json={"note": "second time, same note"})
    assert again.status_code == 409 and "notice_id" in again.json()["problems"]
    assert supervisor.get("/api/v1/notices").json()["notices"] == []
    with harness.database.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "notices.acknowledge")).one()
        assert event.username == "sarge" and event.details["note"].startswith("spoke with")


def test_the_page_form_acknowledges_with_a_note_and_its_csrf_token(harness: Harness) -> None:
    guard_id, _ = plant_notices(harness)
    supervisor = harness.signed_in("supervisor")
    page = supervisor.get("/notices")
    assert page.status_code == 200 and f'id="notice-{guard_id}"' in page.text
    token = csrf_of(page.text)
    action = f"/notices/{guard_id}/acknowledge"
    assert supervisor.post(action, data={"csrf_token": "wrong", "note": "a long enough note"}).status_code == 403
    short = supervisor.post(action, data={"csrf_token": token, "note": "no"})
    assert short.status_code == 400 and "note:" in short.text and 'aria-invalid="true"' in short.text
    done = supervisor.post(action, data={"csrf_token": token, "note": "talked to the officer"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/notices?done={guard_id}"
    assert "No open notices" in supervisor.get("/notices").text


def _tamper(harness: Harness) -> None:
    _drop_guards(harness.database)
    with harness.database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET username = 'nobody' WHERE seq = 2"))


def _schedule(harness: Harness) -> VerificationSchedule:
    signer = InstallationKey.load_or_create(harness.settings.data_path(harness.settings.signing.key_file))
    return VerificationSchedule(harness.settings, harness.database, harness.key, signer)


def test_a_tampered_chain_found_by_the_schedule_shows_on_every_admin_page_until_acknowledged(
    harness: Harness,
) -> None:
    admin = harness.signed_in("alpr_admin", "ada")
    schedule = _schedule(harness)
    assert schedule.run_once().intact  # an intact chain raises nothing
    with harness.database.session() as session:
        assert session.scalar(select(func.count(Notice.id))) == 0
    _tamper(harness)
    result = schedule.run_once()
    assert result is not None and result.first_bad_seq == 2
    for path in ADMIN_PAGES:
        page = admin.get(path)
        assert 'id="breach-banner"' in page.text, path
        assert "broken at event 2" in page.text and "scheduled verification" in page.text, path
    assert "breach-banner" not in harness.signed_in("supervisor").get("/").text
    assert schedule.run_once() is not None  # the same problem again: no second notice
    with harness.database.session() as session:
        notices = list(session.scalars(select(Notice)))
        runs = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "guards.verification")))
    assert len(notices) == 1 and notices[0].severity == "breach" and notices[0].kind == "verification"
    assert [r.details["intact"] for r in runs] == [True, False, False]
    assert runs[1].details["notice_id"] == notices[0].id and runs[1].outcome == "failure"
    page = admin.get("/notices")
    admin.post(
        f"/notices/{notices[0].id}/acknowledge",
        data={"csrf_token": csrf_of(page.text), "note": "restored from last night's backup; case opened"},
    )
    for path in ADMIN_PAGES:
        assert "breach-banner" not in admin.get(path).text, path


def test_the_schedule_runs_daily_by_default(harness: Harness) -> None:
    schedule = _schedule(harness)
    schedule.start()
    try:
        job = schedule.scheduler.get_job("audit-verify")
        assert job is not None and job.trigger.interval.total_seconds() == 24 * 3600
    finally:
        schedule.stop()


def test_cli_audit_verify_raises_the_same_breach_notice(harness: Harness, tmp_path: Path, database_url: str) -> None:
    harness.signed_in("alpr_admin", "ada")
    _tamper(harness)
    done = _cli(tmp_path, database_url, "audit", "verify")
    assert done.returncode == 1 and "BROKEN" in done.stderr and "breach notice" in done.stderr
    with harness.database.session() as session:
        notice = session.scalars(select(Notice)).one()
        assert notice.severity == "breach" and "`platekeeper audit verify`" in notice.finding
