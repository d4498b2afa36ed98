"""Three gaps around the guards and notices (issue 23): the audit page's Verify button raises the breach notice the
scheduled verification raises; the guards' search_activity rows are purged once no rule counts them; a supervisor
sees the notices about the users they supervise, the administrator and the custodian every one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from platekeeper.audit.models import AuditEvent
from platekeeper.guards.models import SearchActivity
from platekeeper.guards.service import activity_horizon
from platekeeper.notices.models import Notice
from tests.conftest import CONTEXT, Harness, csrf_of
from tests.guard_helpers import plant_notices
from tests.retention_helpers import purger
from tests.test_audit import _drop_guards


def test_the_verify_button_raises_the_breach_notice_the_schedule_raises(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin", "ada")
    token = csrf_of(admin.get("/audit").text)
    intact = admin.post("/audit/verify", data={"csrf_token": token})
    assert intact.status_code == 200
    _drop_guards(harness.database)
    with harness.database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET username = 'nobody' WHERE seq = 2"))
    broken = admin.post("/audit/verify", data={"csrf_token": token})
    assert broken.status_code == 200 and "event 2" in broken.text
    with harness.database.session() as session:
        (notice,) = session.scalars(select(Notice)).all()
        runs = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "guards.verification")))
    assert notice.severity == "breach" and "Verify button" in notice.finding and "broken at event 2" in notice.finding
    assert [r.details["trigger"] for r in runs] == ["page", "page"] and runs[-1].details["notice_id"] == notice.id
    assert runs[-1].username == "ada"
    assert 'id="breach-banner"' in admin.get("/").text


def _activity(harness: Harness) -> list[datetime]:
    with harness.database.session() as session:
        return sorted(session.scalars(select(SearchActivity.at)))


def test_search_activity_is_purged_once_no_guard_counts_it(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    for plate in ("7ABC123", "7ABC124"):
        assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": plate}).status_code == 200
    horizon = activity_horizon(harness.settings)
    assert horizon == timedelta(minutes=harness.settings.guards.justification_reuse.window_minutes)  # the longest
    with harness.database.engine.begin() as conn:
        old = datetime.now(UTC) - horizon - timedelta(hours=1)
        conn.execute(text("UPDATE search_activity SET at = :at WHERE id = (SELECT MIN(id) FROM search_activity)"), {
            "at": old
        })  # fmt: skip
    preview = purger(harness).preview()
    assert preview.search_activity == 1
    assert len(_activity(harness)) == 2  # a dry run removes nothing
    run = purger(harness).run()
    assert run.counts["search_activity"] == 1
    assert run.certificate["document"]["removed"]["search_activity"] == 1
    remaining = _activity(harness)
    assert len(remaining) == 1 and remaining[0] > datetime.now(UTC) - horizon
    with harness.database.session() as session:
        finished = session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).one()
        assert finished.details["search_activity"] == 1
        assert session.scalar(select(func.count(SearchActivity.id))) == 1


def test_a_supervisor_sees_notices_about_the_users_they_supervise_only(harness: Harness) -> None:
    harness.user("olive", "sworn_officer")
    harness.user("sam", "supervisor")
    with harness.database.engine.begin() as conn:
        conn.execute(text("UPDATE users SET organization = 'Harbor Division' WHERE username = 'sam'"))
    guard_id, breach_id = plant_notices(harness, subject="olive")
    other_id, _ = plant_notices(harness, subject="sam")  # about another supervisor: not a sergeant's to see
    sergeant = harness.signed_in("supervisor", "sarge")
    assert [n["id"] for n in sergeant.get("/api/v1/notices").json()["notices"]] == [guard_id]
    assert f"#{guard_id}" in sergeant.get("/").text and f"#{other_id}" not in sergeant.get("/notices").text
    refused = sergeant.post(f"/api/v1/notices/{other_id}/acknowledge", json={"note": "not my officer to judge"})
    assert refused.status_code == 404
    harbor = harness.signed_in("supervisor", "hana")
    with harness.database.engine.begin() as conn:
        conn.execute(text("UPDATE users SET organization = 'Harbor Division' WHERE username = 'hana'"))
    assert harbor.get("/api/v1/notices").json()["notices"] == []  # olive is in another organization
    admin = harness.signed_in("alpr_admin")
    assert {n["id"] for n in admin.get("/api/v1/notices").json()["notices"]} >= {guard_id, other_id, breach_id}
    custodian = harness.signed_in("records_manager")
    assert {guard_id, other_id} <= {n["id"] for n in custodian.get("/api/v1/notices").json()["notices"]}
