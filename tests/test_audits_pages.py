"""The system audit pages and commands (issue 23 items 2-4): schedule and run from the page, review a sampled search
with an error naming the field, approval by someone else, the home page's warning, and `platekeeper audits`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.audits.schedule import last_ended_period
from tests.audit_helpers import APPROVER, PERFORMER, Clock, accounts, clean_day, review_signed_off
from tests.cli_helpers import run_cli
from tests.conftest import Harness, csrf_of


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def _seeded(harness: Harness, clock: Clock) -> None:
    accounts(harness)
    today = datetime.now(harness.settings.tz).date()
    for n in (2, 1):
        clean_day(harness, clock, today - timedelta(days=n))
    review_signed_off(harness)


def _local_form(harness: Harness, when: datetime) -> str:
    return when.astimezone(harness.settings.tz).strftime("%Y-%m-%dT%H:%M")


def test_schedule_run_review_and_approve_through_the_pages(harness: Harness, clock: Clock) -> None:
    _seeded(harness, clock)
    admin = harness.login(PERFORMER, TestClient(harness.client.app))
    home = admin.get("/")
    assert 'id="audit-overdue"' in home.text and 'href="/audits"' in home.text
    page = admin.get("/audits")
    assert page.status_code == 200 and "No audit has ever been approved" in page.text
    token = csrf_of(page.text)
    now = datetime.now(UTC)
    bad = admin.post("/audits", data={"csrf_token": token, "period_from": "soon", "period_to": "later"})
    assert bad.status_code == 400 and 'id="period_from-error"' in bad.text and 'aria-invalid="true"' in bad.text
    form = {"period_from": _local_form(harness, now - timedelta(days=3)), "period_to": _local_form(harness, now)}
    scheduled = admin.post("/audits", data={"csrf_token": token, **form}, follow_redirects=False)
    assert scheduled.status_code == 303
    audit_url = scheduled.headers["location"].split("?")[0]
    ran = admin.post(f"{audit_url}/run", data={"csrf_token": token})
    assert ran.status_code == 200 and "Checks run, chain verified, sample drawn" in ran.text
    positions = [int(p) for p in re.findall(r'action="/audits/\d+/sample/(\d+)"', ran.text)]
    assert len(positions) == 12
    with harness.database.session() as session:  # reading the page (its sample's justifications) is recorded
        viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "audits.report")).all()
    assert [(e.username, e.details["format"]) for e in viewed] == [(PERFORMER, "page")]
    short = admin.post(f"{audit_url}/sample/1", data={"csrf_token": token, "finding": "ok", "resolution": "supported"})
    assert short.status_code == 400 and 'id="item-1-error"' in short.text and "finding:" in short.text
    for position in positions:
        body = {
            "csrf_token": token,
            "finding": "the justification names the vehicle and the burglary",
            "resolution": "supported",
        }
        assert admin.post(f"{audit_url}/sample/{position}", data=body).status_code == 200
    recorded = admin.post(f"{audit_url}/findings", data={"csrf_token": token})
    assert "waits for approval by someone else" in recorded.text
    auditor = harness.login(APPROVER, TestClient(harness.client.app))
    audit_page = auditor.get(audit_url)
    approve = auditor.post(
        f"{audit_url}/approve",
        data={"csrf_token": csrf_of(audit_page.text), "note": "checked each finding and the sample"},
    )
    assert approve.status_code == 200 and "Audit approved." in approve.text
    assert 'id="audit-overdue"' not in admin.get("/").text
    report = auditor.get(f"{audit_url}/report")
    assert report.status_code == 200 and "No findings." in report.text and "Approved by" in report.text
    assert auditor.get("/audits/999999").status_code == 404


_cli = run_cli


def test_the_audits_command(harness: Harness, clock: Clock, tmp_path: Path) -> None:
    _seeded(harness, clock)
    today = datetime.now(harness.settings.tz).date()
    since, until = (today - timedelta(days=3)).isoformat(), datetime.now(UTC).isoformat()
    ran = _cli(harness, "audits", "run", "--from", since, "--to", until, "--as", PERFORMER)
    assert ran.returncode == 0, ran.stderr
    assert "12 accesses checked" in ran.stdout and "12 searches sampled" in ran.stdout
    audit_id = re.search(r"audit (\d+):", ran.stdout).group(1)  # type: ignore[union-attr]
    officer = _cli(harness, "audits", "run", "--from", since, "--to", until, "--as", "olive")
    assert officer.returncode == 2 and "audits.perform" in officer.stderr
    backwards = _cli(harness, "audits", "run", "--from", until[:10], "--to", since, "--as", PERFORMER)
    assert backwards.returncode == 2 and "to:" in backwards.stderr
    assert _cli(harness, "audits", "run", "--from", "someday", "--to", since, "--as", PERFORMER).returncode == 2
    early = _cli(harness, "audits", "approve", audit_id, "--as", APPROVER, "--note", "all checked")
    assert early.returncode == 2 and "findings recorded" in early.stderr
    listed = _cli(harness, "audits", "list")
    assert listed.returncode == 0 and "In progress" in listed.stdout
    pdf = tmp_path / "audit.pdf"
    written = _cli(harness, "audits", "report", audit_id, "--as", APPROVER, "--output", str(pdf))
    assert written.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")
    assert _cli(harness, "audits", "close", "999999", "--as", APPROVER).returncode == 2


def test_each_ended_period_gets_its_audit_once_by_itself(harness: Harness, clock: Clock) -> None:
    settings = harness.settings
    at = datetime.combine(date(2027, 1, 15), time(9), settings.tz)
    since, until = last_ended_period(settings, at)
    assert since == datetime.combine(date(2026, 7, 1), time(), settings.tz)
    assert until == datetime.combine(date(2027, 1, 1), time(), settings.tz)
    spring = datetime.combine(date(2026, 4, 2), time(9), settings.tz)
    assert last_ended_period(settings, spring)[0] == datetime.combine(date(2025, 7, 1), time(), settings.tz)
    quarterly = settings.model_copy(update={"audits": settings.audits.model_copy(update={"per_year": 4})})
    assert last_ended_period(quarterly, at)[0] == datetime.combine(date(2026, 10, 1), time(), settings.tz)
    _seeded(harness, clock)
    schedule = harness.client.app.state.platekeeper.services.audit_schedule()
    audit = schedule.run_due()
    assert audit is not None and audit.status == "in_progress" and audit.sample_seed is not None
    assert (audit.period_from, audit.period_to) == last_ended_period(settings, datetime.now(UTC))
    assert audit.performed_by == "system:audit-schedule"  # so any approver may approve; a person reviews
    assert schedule.run_due() is None  # once per period
    again = _cli(harness, "audits", "run-due")
    assert again.returncode == 0 and "already has its audit" in again.stdout
