"""System audits (policy 462.6(c), issue 23 items 1-4 and 9): a run over a period finds each planted problem and
nothing on a clean set, its figures match the database, the sample is reproducible from its seed, a referral
reaches the supervisors, the audit is never approved by its performer, and the report renders as HTML and PDF."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from platekeeper.access.models import User
from platekeeper.audit.activity import ACCESS_ACTIONS, SEARCH_ACTIONS
from platekeeper.audit.models import AuditEvent
from platekeeper.audits.models import AuditFinding, AuditSampleItem, SystemAudit
from platekeeper.notices.models import Notice
from tests.audit_helpers import (
    APPROVER,
    PERFORMER,
    Clock,
    access,
    accounts,
    clean_day,
    expired_hold,
    local,
    purges,
    review_signed_off,
    unapproved_release,
)
from tests.conftest import Harness
from tests.guard_helpers import plant_notices, search
from tests.pdf_helpers import assert_pdf_not_blank


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def _days(harness: Harness) -> tuple[date, datetime]:
    """Today in agency time, and the period's start: four days ago at midnight, agency time."""
    today = datetime.now(harness.settings.tz).date()
    return today, local(harness, today - timedelta(days=4), 0)


def _purge_days(harness: Harness, today: date, skip: tuple[int, ...] = ()) -> list[date]:
    days = [today - timedelta(days=n) for n in range(4, -1, -1) if n not in skip]
    return [d for d in days if local(harness, d, 3) < datetime.now(UTC)]


def _clean_set(harness: Harness, clock: Clock) -> datetime:
    """Three ordinary days, the daily purges, a signed-off account review: the period's start."""
    today, since = _days(harness)
    for n in (3, 2, 1):
        clean_day(harness, clock, today - timedelta(days=n))
    review_signed_off(harness)
    return since


def _run(harness: Harness, since: datetime) -> tuple[TestClient, int]:
    admin = harness.login(PERFORMER, TestClient(harness.client.app))
    until = datetime.now(UTC)
    scheduled = admin.post("/api/v1/audits", json={"period_from": since.isoformat(), "period_to": until.isoformat()})
    assert scheduled.status_code == 201, scheduled.text
    audit_id = scheduled.json()["id"]
    ran = admin.post(f"/api/v1/audits/{audit_id}/run")
    assert ran.status_code == 200, ran.text
    return admin, audit_id


def _findings(harness: Harness, audit_id: int) -> list[AuditFinding]:
    with harness.database.session() as session:
        rows = list(session.scalars(select(AuditFinding).where(AuditFinding.audit_id == audit_id)))
        session.expunge_all()
        return rows


def test_a_clean_period_has_no_findings_and_its_figures_match_the_database(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    today, _ = _days(harness)
    purges(harness, _purge_days(harness, today))
    officer = harness.login("olive", TestClient(harness.client.app))
    assert search(officer, plate="7REAL01").status_code == 200  # one search through the real door, now
    admin, audit_id = _run(harness, since)
    assert [(f.kind, f.detail) for f in _findings(harness, audit_id)] == []
    report = admin.get(f"/api/v1/audits/{audit_id}").json()
    with harness.database.session() as session:
        in_period = (
            AuditEvent.action.in_(ACCESS_ACTIONS),
            AuditEvent.outcome == "success",
            AuditEvent.occurred_at >= since,
            AuditEvent.occurred_at < datetime.fromisoformat(report["period_to"]),
        )
        total = session.scalar(select(func.count()).select_from(AuditEvent).where(*in_period))
        by_user = dict(
            session.execute(
                select(AuditEvent.username, func.count()).where(*in_period).group_by(AuditEvent.username)
            ).all()
        )
        searches = session.scalar(
            select(func.count()).select_from(AuditEvent).where(*in_period, AuditEvent.action.in_(SEARCH_ACTIONS))
        )
    figures = report["figures"]
    assert figures["accesses"] == total == 3 * 6 + 1
    assert {row["label"]: row["value"] for row in figures["volume"]["user"]} == by_user
    assert figures["searches"] == searches
    assert figures["chain"]["intact"] is True and figures["chain"]["checked"] > total
    assert figures["account_review"]["overdue"] is False
    assert report["sample"] and len(report["sample"]) == min(harness.settings.audits.sample_size, searches)


PLANTED = {
    "no_case_number": "nocase",
    "untrained_access": "ursula",
    "repeated_plate": "rita",
    "off_hours_burst": "nina",
    "bulk_extraction": "bob",
    "hold_expired": PERFORMER,
    "purge_skipped": None,
    "sharing_without_approval": PERFORMER,
    "guard_plateless_searches": "nina",
    "audit_chain_notice": None,
}


def _plant(harness: Harness, clock: Clock, today: date) -> None:
    yesterday, two_days = today - timedelta(days=1), today - timedelta(days=2)
    access(harness, clock, "nocase", local(harness, yesterday, 11), case_number=None)
    access(harness, clock, "ursula", local(harness, yesterday, 12), plate="7UNT001")
    for minute in range(0, 60, 10):
        access(harness, clock, "rita", local(harness, two_days, 14, minute), plate="7REP001")
    for minute in range(0, 54, 6):  # nine searches in one hour at 2 a.m.: a user who works by day
        access(harness, clock, "nina", local(harness, two_days, 2, minute), plate=f"7NGT{minute:03d}")
    for hour in (10, 13, 15):
        access(harness, clock, "nina", local(harness, yesterday, hour), plate=f"7DAY{hour:03d}")
    access(harness, clock, "bob", local(harness, yesterday, 10), plate=None, page=6, results=2028)
    expired_hold(harness)
    unapproved_release(harness, local(harness, yesterday, 16))
    plant_notices(harness, subject="nina")  # a guard's notice about nina and a breach notice of the verification


def test_the_report_finds_each_planted_problem(harness: Harness, clock: Clock) -> None:
    accounts(harness, untrained=("ursula",))
    since = _clean_set(harness, clock)
    today, _ = _days(harness)
    purges(harness, _purge_days(harness, today, skip=(3, 2)))  # two days without a purge: retention not honoured
    _plant(harness, clock, today)
    admin, audit_id = _run(harness, since)
    found = {(f.kind, f.subject) for f in _findings(harness, audit_id)}
    for kind, subject in PLANTED.items():
        assert (kind, subject) in found, f"{kind} for {subject} not found in {sorted(found, key=str)}"
    assert not {subject for _, subject in found} & {"olive", "oscar"}, found  # the clean officers stay clean
    sections = {f.kind: f.section for f in _findings(harness, audit_id)}
    assert sections["untrained_access"] == "462.10" and sections["sharing_without_approval"] == "462.7"
    assert sections["purge_skipped"] == sections["hold_expired"] == "462.9"
    page = admin.get(f"/audits/{audit_id}/report")
    assert page.status_code == 200 and "No findings." in page.text  # the sections with nothing in them say so
    for words in ("462.10 Training", "462.7 Sharing", "Accesses by user", "<svg", "Open the account review"):
        assert words in page.text


def _plant_more(harness: Harness, clock: Clock, day: date) -> None:
    """The other checks' planted cases, one user each."""
    access(harness, clock, "gina", local(harness, day, 10), case_number="0000-000000", justification="a" * 24)
    access(harness, clock, "pete", local(harness, day, 10), purpose="immigration_enforcement")
    for i in range(10):
        access(harness, clock, "carl", local(harness, day, 11, i), plate=f"7CAS{i:03d}", case_number="2026-500000")
    for i, name in enumerate(("olive", "oscar", "rita", "nina", "bob")):
        access(harness, clock, name, local(harness, day, 12, i), plate="7MANY01", case_number=f"2026-20000{i}")
    for i in range(30):
        access(
            harness, clock, "hank", local(harness, day, 13, i), plate=f"7VOL{i:03d}", case_number=f"2026-3000{i:02d}"
        )
    for i in range(3):
        access(harness, clock, "jack", local(harness, day, 14, i), plate=f"7JAK{i:03d}", case_number=f"2026-40000{i}")
    access(harness, clock, "vera", local(harness, day, 15), plate="7VEN001")
    access(harness, clock, "sam", local(harness, day, 16), plate="7SUS001")
    access(harness, clock, "shay", local(harness, day, 17, 0), plate="7SHA001", client="10.0.0.7")
    access(harness, clock, "shay", local(harness, day, 17, 3), plate="7SHA002", client="10.0.0.8")


def test_each_other_check_fires_on_its_planted_case(harness: Harness, clock: Clock) -> None:
    accounts(harness, more=("gina", "pete", "carl", "hank", "jack", "sam", "shay"))
    harness.user("vera", "vendor_maintenance")
    since = _clean_set(harness, clock)
    today, _ = _days(harness)
    purges(harness, _purge_days(harness, today))
    with harness.database.session() as session:
        two_days_ago = datetime.now(UTC) - timedelta(days=2)
        session.execute(
            update(User)
            .where(User.username == "sam")
            .values(status="suspended", active=False, status_changed_at=two_days_ago)
        )
    _plant_more(harness, clock, today - timedelta(days=1))
    _, audit_id = _run(harness, since)
    found = {(f.kind, f.subject) for f in _findings(harness, audit_id)}
    expected = {
        ("no_case_number", "gina"),
        ("generic_justification", "gina"),
        ("unauthorized_purpose", "pete"),
        ("case_across_plates", "carl"),
        ("plate_many_users", None),
        ("high_volume_day", "hank"),
        ("repeated_justification", None),
        ("vendor_access", "vera"),
        ("inactive_account_access", "sam"),
        ("shared_account", "shay"),
    }
    assert expected <= found, sorted(expected - found, key=str)
    assert not {subject for _, subject in found} & {"oscar"}, found


def test_the_sample_is_reproducible_from_its_seed(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    _, audit_id = _run(harness, since)
    with harness.database.session() as session:
        audit = session.get(SystemAudit, audit_id)
        assert audit is not None and audit.sample_seed is not None
        drawn = list(
            session.scalars(
                select(AuditSampleItem.event_seq)
                .where(AuditSampleItem.audit_id == audit_id)
                .order_by(AuditSampleItem.position)
            )
        )
        searches = sorted(
            session.scalars(
                select(AuditEvent.seq).where(
                    AuditEvent.action.in_(SEARCH_ACTIONS),
                    AuditEvent.occurred_at >= audit.period_from,
                    AuditEvent.occurred_at < audit.period_to,
                )
            )
        )
    expected = random.Random(audit.sample_seed).sample(
        searches, min(len(searches), harness.settings.audits.sample_size)
    )
    assert drawn == expected and len(drawn) == 18


def _review_all(admin: TestClient, audit_id: int, refer: int = 1) -> None:
    sample = admin.get(f"/api/v1/audits/{audit_id}").json()["sample"]
    for item in sample:
        referred = item["position"] == refer
        body = {
            "finding": "justification names a vehicle and an incident, case number in format"
            if not referred
            else "justification does not say why this plate belongs to the case",
            "resolution": "referred" if referred else "supported",
        }
        answer = admin.post(f"/api/v1/audits/{audit_id}/sample/{item['position']}", json=body)
        assert answer.status_code == 200, answer.text
    junk = {"finding": "aaaaaaaaaaaaaaaaaaaaaaaa", "resolution": "supported"}
    refused = admin.post(f"/api/v1/audits/{audit_id}/sample/{refer}", json=junk)
    assert refused.status_code == 400 and "real words" in refused.text
    undo = {"finding": "on second thought the justification names the vehicle", "resolution": "supported"}
    stands = admin.post(f"/api/v1/audits/{audit_id}/sample/{refer}", json=undo)
    assert stands.status_code == 409 and "a referral stands" in stands.text


def test_the_lifecycle_refuses_self_approval_and_records_each_step(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    admin, audit_id = _run(harness, since)
    home = admin.get("/")
    assert "System audit overdue" in home.text and "no audit has ever been approved" in home.text
    early = admin.post(f"/api/v1/audits/{audit_id}/findings")
    assert early.status_code == 400 and early.json()["field"] == "sample"
    _review_all(admin, audit_id)
    with harness.database.session() as session:
        notice = session.scalars(select(Notice).where(Notice.kind == "referral")).one()
        assert notice.subject in ("olive", "oscar") and "supervisor" in notice.finding
    supervisor = harness.signed_in("supervisor")
    assert any(n["id"] == notice.id for n in supervisor.get("/api/v1/notices").json()["notices"])
    assert admin.post(f"/api/v1/audits/{audit_id}/findings").status_code == 200
    [referral] = [f for f in _findings(harness, audit_id) if f.kind == "sample_referred"]
    assert referral.subject == notice.subject and f"notice {notice.id}" in referral.detail
    harness.user("adam", "alpr_admin")  # a second administrator: may perform audits, may not approve them
    own = admin.post(f"/api/v1/audits/{audit_id}/approve", json={"note": "checked every finding and the sample"})
    assert own.status_code == 403  # the performer's role lacks audits.approve, let alone this audit
    approver_who_ran = _approver_who_ran(harness, clock)
    refused = approver_who_ran[0].post(
        f"/api/v1/audits/{approver_who_ran[1]}/approve", json={"note": "checked every finding and the sample"}
    )
    assert refused.status_code == 403 and "different person" in refused.json()["detail"]
    assert refused.json()["field"] == "approver"
    auditor = harness.login(APPROVER, TestClient(harness.client.app))
    short = auditor.post(f"/api/v1/audits/{audit_id}/approve", json={"note": "ok"})
    assert short.status_code == 400 and short.json()["field"] == "note"
    approved = auditor.post(f"/api/v1/audits/{audit_id}/approve", json={"note": "checked every finding and the sample"})
    assert approved.status_code == 200 and approved.json()["approved_by"] == APPROVER
    assert "System audit overdue" not in admin.get("/").text
    closed = auditor.post(f"/api/v1/audits/{audit_id}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert auditor.post(f"/api/v1/audits/{audit_id}/close").status_code == 409
    with harness.database.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("audits.%"))))
    for action in ("audits.schedule", "audits.run", "audits.sample_review", "audits.refer", "audits.approve"):
        assert action in actions
    assert "audits.findings_recorded" in actions and "audits.close" in actions and "audits.refused" in actions


def _approver_who_ran(harness: Harness, clock: Clock) -> tuple[TestClient, int]:
    """An audit performed by someone whose role both performs and approves: that same person may not approve it."""
    from platekeeper.access.principal import Principal
    from platekeeper.audits.service import record_findings, run_audit, schedule_audit

    with harness.database.session() as session:
        principal = Principal(
            user_id=0,
            username=APPROVER,
            display_name="Audrey",
            organization="EXPD",
            role="auditor",
            role_label="Auditor",
            permissions=frozenset({"audits.view", "audits.perform", "audits.approve"}),
        )
        work = harness.work(session)
        now = datetime.now(UTC)
        audit = schedule_audit(work, principal, now - timedelta(days=30), now - timedelta(days=20))
        run_audit(work, principal, audit.id, harness.client.app.state.platekeeper.signing_key)  # type: ignore[attr-defined]
        record_findings(work, principal, audit.id)  # nothing searched in this period: an empty sample
        audit_id = audit.id
    return harness.login(APPROVER, TestClient(harness.client.app)), audit_id


def test_bad_input_is_refused_with_the_field_named_and_nothing_changed(harness: Harness) -> None:
    accounts(harness)
    admin = harness.login(PERFORMER, TestClient(harness.client.app))
    now = datetime.now(UTC)
    backwards = admin.post(
        "/api/v1/audits", json={"period_from": now.isoformat(), "period_to": (now - timedelta(days=1)).isoformat()}
    )
    assert backwards.status_code == 400 and backwards.json()["field"] == "to"
    long = admin.post(
        "/api/v1/audits", json={"period_from": (now - timedelta(days=900)).isoformat(), "period_to": now.isoformat()}
    )
    assert long.status_code == 400 and "400 days" in long.json()["detail"]
    assert (
        admin.post("/api/v1/audits", json={"period_from": "yesterday", "period_to": now.isoformat()}).status_code == 422
    )
    for first, last in (("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00+14:00"), ("9999-12-30", "9999-12-31")):
        edge = admin.post("/api/v1/audits", json={"period_from": first, "period_to": last})  # no time zone may overflow
        assert edge.status_code == 400 and edge.json()["field"] == "from", edge.text
    assert admin.post("/api/v1/audits/999999/run").status_code == 404
    assert admin.get("/api/v1/audits/999999").status_code == 404
    future = admin.post(
        "/api/v1/audits", json={"period_from": now.isoformat(), "period_to": (now + timedelta(days=2)).isoformat()}
    )
    audit_id = future.json()["id"]
    early = admin.post(f"/api/v1/audits/{audit_id}/run")
    assert early.status_code == 400 and early.json()["field"] == "to"
    bad = admin.post(f"/api/v1/audits/{audit_id}/sample/1", json={"finding": "x" * 30, "resolution": "maybe"})
    assert bad.status_code == 422
    wrong_state = admin.post(
        f"/api/v1/audits/{audit_id}/sample/1", json={"finding": "x" * 30, "resolution": "supported"}
    )
    assert wrong_state.status_code == 409 and wrong_state.json()["field"] == "status"
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/api/v1/audits").status_code == 403
    with harness.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SystemAudit)) == 1
        assert session.get(SystemAudit, audit_id).status == "scheduled"  # type: ignore[union-attr]


def test_the_pdf_report_renders(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    admin, audit_id = _run(harness, since)
    pdf = admin.get(f"/audits/{audit_id}/report", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert_pdf_not_blank(pdf.content)


def test_latest_audits_gives_dates_and_finding_counts(harness: Harness, clock: Clock) -> None:
    from platekeeper.audits.service import latest_audits

    accounts(harness)
    since = _clean_set(harness, clock)
    access(
        harness,
        clock,
        "nocase",
        local(harness, datetime.now(harness.settings.tz).date() - timedelta(days=1), 11),
        case_number=None,
    )
    admin, audit_id = _run(harness, since)
    with harness.database.session() as session:
        assert latest_audits(session, 5) == []  # not approved yet
        audit = session.get(SystemAudit, audit_id)
        assert audit is not None
        audit.approved_at, audit.approved_by, audit.status = datetime.now(UTC), APPROVER, "approved"
    with harness.database.session() as session:
        [(day, findings)] = latest_audits(session, 5)
    assert day == datetime.now(UTC).date() and findings == len(_findings(harness, audit_id)) >= 1
    assert admin.get("/api/v1/audits").json()["audits"][0]["findings"] == findings


def test_no_purge_is_owed_before_the_installation_began(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    today, _ = _days(harness)
    purges(harness, _purge_days(harness, today))
    _, audit_id = _run(harness, since - timedelta(days=60))  # the period opens weeks before the audit log does
    assert "purge_skipped" not in {f.kind for f in _findings(harness, audit_id)}


def test_a_plate_typed_into_a_sampled_justification_is_masked_for_the_auditor(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    officer = harness.login("olive", TestClient(harness.client.app))
    typed = {"purpose": "criminal_investigation", "case_number": "2026-000123",
             "justification": "grey sedan 7ABC123 seen leaving the burglary on 5th St"}  # fmt: skip
    assert search(officer, context=typed, plate="7ABC123").status_code == 200
    admin, audit_id = _run(harness, since)
    assert "grey sedan 7ABC123" in admin.get(f"/api/v1/audits/{audit_id}").text  # the performer reaches plates
    auditor = harness.login(APPROVER, TestClient(harness.client.app))
    for path in (f"/api/v1/audits/{audit_id}", f"/audits/{audit_id}", f"/audits/{audit_id}/report"):
        shown = auditor.get(path)
        assert shown.status_code == 200 and "7ABC123" not in shown.text and "7AB***3" in shown.text, path


def test_the_purge_removes_a_closed_audit_once_its_record_days_are_over(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    since = _clean_set(harness, clock)
    _, old = _run(harness, since)
    _, young = _run(harness, since)
    _, today_kept = _run(harness, since)
    now, tz = datetime.now(UTC), harness.settings.tz
    midnight = datetime.combine(datetime.now(tz).date(), datetime.min.time(), tz)  # the agency's day began
    with harness.database.session() as session:  # kept until a minute before the agency's day, a minute into it
        for audit_id, keep_until in (
            (old, midnight - timedelta(minutes=1)),
            (young, now + timedelta(days=400)),
            (today_kept, midnight + timedelta(minutes=1)),
        ):
            session.execute(
                update(SystemAudit)
                .where(SystemAudit.id == audit_id)
                .values(status="closed", closed_at=now - timedelta(days=1), keep_until=keep_until)
            )
        assert session.scalar(select(func.count()).select_from(AuditSampleItem).where(AuditSampleItem.audit_id == old))
    purger = harness.client.app.state.platekeeper.services.purger()
    assert purger.preview().system_audits == 1  # the dry run counts it, and removes nothing
    assert harness.signed_in("auditor", "audit").get(f"/api/v1/audits/{old}").status_code == 200
    run = purger.run(trigger="command")
    assert run.counts["system_audits"] == 1
    assert run.certificate is not None and run.certificate["document"]["removed"]["system_audits"] == 1
    auditor = harness.signed_in("auditor", "audit2")
    assert auditor.get(f"/api/v1/audits/{old}").status_code == 404
    assert auditor.get(f"/api/v1/audits/{young}").status_code == 200
    assert auditor.get(f"/api/v1/audits/{today_kept}").status_code == 200  # its last day is today: kept through it
    with harness.database.session() as session:
        for table in (AuditSampleItem, AuditFinding):
            assert not session.scalar(select(func.count()).select_from(table).where(table.audit_id == old))
        dry = session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge_dry_run")).one()
    assert dry.details["system_audits"] == 1 and dry.details["sharing_requests"] == 0
