"""Inbound queries from partner agencies (policy 462.7): off by default; under an agreement they pass the same
sharing rules, see only what the agreement allows and are logged like a local search."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.access.enrolment import enrol_totp
from platekeeper.access.mfa import new_totp_secret
from platekeeper.access.service import NewAccount, create_user, needs_mfa
from platekeeper.access.training import add_training_record, required_courses
from platekeeper.audit.models import AuditEvent
from platekeeper.config import load_settings
from platekeeper.web.app import create_app
from tests.conftest import FAST_HASH, PASSWORD, Harness, csrf_of
from tests.retention_helpers import age, ingest_reads, read_with
from tests.sharing_helpers import agency, agency_today

QUERY = {"purpose": "wanted_person", "case_number": "TPD-26-0099", "justification": "driver wanted on a felony warrant"}


@pytest.fixture
def partners(harness: Harness) -> Iterator[Harness]:
    """The same database, served with ``sharing.partner_queries`` on."""
    settings = load_settings(data_dir=harness.settings.data_dir, database_url=harness.settings.database_url,
                             access=FAST_HASH, sharing={"partner_queries": True})  # fmt: skip
    with TestClient(create_app(settings, harness.database)) as client:
        yield Harness(settings=settings, database=harness.database, client=client, totp=harness.totp)


def _partner(harness: Harness, organization: str) -> TestClient:
    """A partner agency's named user, signed in (with a one-time code when the role needs MFA)."""
    with harness.database.session() as session:
        work = harness.work(session)
        account = NewAccount("tpdofficer", "Officer Kim", "partner", PASSWORD, organization=organization)
        user = create_user(work, account, approved_by="system:test")
        for course in required_courses(harness.settings, "partner"):  # the policy-review course (462.10)
            add_training_record(work, user.id, course=course.code, completed_on=agency_today(), instructor="Sgt. Ruiz",
                                evidence="partner onboarding roster")  # fmt: skip
        if needs_mfa(harness.settings, "partner"):
            secret = new_totp_secret()
            enrol_totp(work, user, secret, int(time.time()) // 30 - 2)
            harness.totp[user.username] = secret
    return harness.login("tpdofficer", TestClient(harness.client.app))


def _window(days: float) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"since": (now - timedelta(days=days)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}


def test_partner_queries_are_off_by_default(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    agency(clerk, "Torrance Police Department", ori=None, partner_agreement_until="2099-01-01")
    partner = _partner(harness, "Torrance Police Department")
    refused = partner.post("/api/v1/sharing/partner/search", json={"plate": "6PRT001", **_window(2), **QUERY})
    assert refused.status_code == 403 and "sharing.partner_queries" in refused.json()["detail"]
    assert partner.get("/api/v1/sharing/requests").status_code == 403  # the role holds nothing else


def test_a_partner_sees_only_what_the_agreement_allows_under_the_same_rules(partners: Harness) -> None:
    _, key = partners.camera("Pacific Coast Hwy")
    ids = ingest_reads(partners, key, read_with("6PRT001", (1, 1, 1)), read_with("6PRT001", (2, 2, 2)),
                       read_with("6PRT002", (3, 3, 3)))  # fmt: skip
    age(partners, [ids[1]], 400)  # past retention
    clerk = partners.signed_in("records", "clerk")
    agency(clerk, "Torrance Police Department", ori=None, partner_agreement_until=agency_today().isoformat(),
           partner_max_days=30)  # fmt: skip
    partner = _partner(partners, "Torrance Police Department")
    found = partner.post("/api/v1/sharing/partner/search", json={"plate": "6PRT001", **_window(2), **QUERY})
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["reads"]] == [ids[0]]
    wide = partner.post("/api/v1/sharing/partner/search", json={"plate": "6PRT001", **_window(500), **QUERY})
    assert wide.status_code == 400 and wide.json()["field"] == "until"
    wildcard = partner.post("/api/v1/sharing/partner/search", json={"plate": "6PRT*", **_window(2), **QUERY})
    assert wildcard.status_code == 400 and wildcard.json()["field"] == "plates"
    ice = {**QUERY, "justification": "locate for ICE removal proceedings"}
    immigration = partner.post("/api/v1/sharing/partner/search", json={"plate": "6PRT001", **_window(2), **ice})
    assert immigration.status_code == 403 and "immigration" in immigration.json()["detail"]
    with partners.database.session() as session:
        searched = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.search")).all()
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "sharing.refused")).all()
    (event,) = searched
    assert event.username == "tpdofficer" and event.organization == "Torrance Police Department"
    assert event.purpose == "wanted_person" and event.case_number == "TPD-26-0099" and event.details["results"] == 1
    assert len(refused) == 3
    assert not [e for e in refused if "6PRT" in str(e.details)]  # a refusal kept in the log quotes no plate


def test_a_federal_partner_or_an_expired_agreement_is_refused(partners: Harness) -> None:
    clerk = partners.signed_in("records", "clerk")
    agency(clerk, "Federal Task Force", kind="law_enforcement", jurisdiction="federal", ori=None,
           partner_agreement_until="2099-01-01")  # fmt: skip
    partner = _partner(partners, "Federal Task Force")
    federal = partner.post("/api/v1/sharing/partner/search", json={"plate": "6PRT001", **_window(2), **QUERY})
    assert federal.status_code == 403 and "1798.90.55(b)" in federal.json()["detail"]


def test_a_partner_queries_through_the_page_like_the_api(partners: Harness) -> None:
    _, key = partners.camera("Pacific Coast Hwy")
    ingest_reads(partners, key, read_with("6PRT001", (4, 4, 4)))
    clerk = partners.signed_in("records", "clerk")
    agency(clerk, "Torrance Police Department", ori=None, partner_agreement_until=agency_today().isoformat(),
           partner_max_days=30)  # fmt: skip
    partner = _partner(partners, "Torrance Police Department")
    home = partner.get("/partner")
    assert home.status_code == 200 and 'href="/partner"' in home.text and "turned off" not in home.text
    now = datetime.now(partners.settings.tz)
    form = {"csrf_token": csrf_of(home.text), "plate": "6PRT001", **QUERY,
            "since": (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "until": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    found = partner.post("/partner", data=form)
    assert found.status_code == 200 and "1 read of 6PRT001" in found.text and "Pacific Coast Hwy" in found.text
    bad = partner.post("/partner", data={**form, "until": "next tuesday"})
    assert bad.status_code == 400 and "To: not a date and time" in bad.text and 'value="6PRT001"' in bad.text
    ice = partner.post("/partner", data={**form, "justification": "locate for ICE removal proceedings"})
    assert ice.status_code == 403 and "immigration" in ice.text and "1 read of" not in ice.text
    assert partner.post("/partner", data={**form, "csrf_token": "forged"}).status_code == 403
    with partners.database.session() as session:
        searched = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.search")).all()
    assert [(e.username, e.details["results"]) for e in searched] == [("tpdofficer", 1)]


def test_a_partner_without_the_policy_review_course_reaches_no_plate(partners: Harness) -> None:
    clerk = partners.signed_in("records", "clerk")
    agency(clerk, "Torrance Police Department", ori=None, partner_agreement_until=agency_today().isoformat(),
           partner_max_days=30)  # fmt: skip
    untrained = partners.login(partners.user("tpdnew", "partner", trained=False), TestClient(partners.client.app))
    refused = untrained.post("/api/v1/sharing/partner/search", json={"plate": "6PRT001", **_window(2), **QUERY})
    assert refused.status_code == 403 and "training" in refused.text.lower()
    assert untrained.get("/partner").status_code == 403
