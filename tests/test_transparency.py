"""The transparency page (issue 24): live aggregates with no sign-in, never a plate, a user, a case number or a
justification; small counts hidden; the same figures as JSON; the administrator's preview before it goes live."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from platekeeper.audit.models import AuditEvent
from platekeeper.cameras.service import create_camera
from platekeeper.config import Settings, load_settings
from platekeeper.reads.models import PlateRead
from platekeeper.retention.models import LegalHold
from platekeeper.sharing.models import SharingRequest
from platekeeper.transparency.figures import AuditReport, transparency_figures
from platekeeper.transparency.service import PublicFace
from platekeeper.web.app import create_app
from tests.conftest import CONTEXT, FAST_HASH, Harness, make_read
from tests.hotlist_helpers import hotlist_with, ingest
from tests.retention_helpers import hold
from tests.sharing_helpers import agency, submit

PLATES = ["5SOW350", "7ABC123", "8XYZ987", "4KLM552", "6TRE884", "3QWE771", "2ZXC660"]
PUBLISHED = {"published": True, "min_count": 3, "cache_minutes": 0}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, transparency=PUBLISHED)


def _seed(harness: Harness) -> dict[str, Any]:
    """A small agency's week: cameras, reads, a hotlist hit closed as a misread, searches under a case, a request
    shared with another agency, a legal hold."""
    manager, list_id = hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,HOND,CIV,GRY\n")
    with harness.database.session() as session:
        _, key = create_camera(
            harness.work(session), name="Pier Ave North", kind="fixed", location="1200 Pier Ave at Valley Dr",
            latitude=33.88127, longitude=-118.41023,
        )  # fmt: skip
        create_camera(harness.work(session), name="Unit 14", kind="mobile")
    reads = [make_read(plate) for plate in PLATES]
    ingest(harness, key, *reads)
    officer = harness.signed_in("sworn_officer", "okafor")
    for page in range(4):
        found = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123", "page": page + 1})
        assert found.status_code == 200, found.text
    (alert,) = officer.get("/api/v1/alerts").json()["alerts"]
    assert officer.post(f"/api/v1/alerts/{alert['id']}/acknowledge").status_code == 200
    closed = officer.post(f"/api/v1/alerts/{alert['id']}/disposition", json={"disposition": "misread"})
    assert closed.status_code == 200, closed.text
    clerk = harness.signed_in("records", "lindqvist")
    boss = harness.signed_in("records_manager", "brannigan")
    made = submit(clerk, agency(clerk), plates=["7ABC123"])
    assert boss.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"}).status_code == 200
    assert clerk.post(f"/api/v1/sharing/requests/{made['id']}/fulfil", json={}).status_code == 200
    hold(clerk, boss, case="2026-004321", scope="reads", read_ids=[reads[2]["id"]])
    return {"hotlist": list_id, "manager": manager}


def _secrets(harness: Harness) -> set[str]:
    """Every plate, username, case number and justification the database holds."""
    with harness.database.session() as session:
        found = set(session.scalars(select(PlateRead.plate)))
        found |= set(session.scalars(select(AuditEvent.username).where(AuditEvent.username.is_not(None))))
        found |= set(session.scalars(select(AuditEvent.case_number).where(AuditEvent.case_number.is_not(None))))
        found |= set(session.scalars(select(AuditEvent.justification).where(AuditEvent.justification.is_not(None))))
        found |= set(session.scalars(select(SharingRequest.case_number)))
        found |= set(session.scalars(select(SharingRequest.requester_name)))
        found |= set(session.scalars(select(SharingRequest.description)))
        found |= set(session.scalars(select(LegalHold.case_number)))
    return {value for value in found if value}


def _anonymous(harness: Harness) -> TestClient:
    return TestClient(harness.client.app)  # no cookie, no header


def test_anonymous_gets_the_page_and_json_and_neither_holds_a_plate_user_case_or_justification(
    harness: Harness,
) -> None:
    _seed(harness)
    secrets = _secrets(harness)
    assert {"5SOW350", "okafor", "lindqvist", "brannigan", "2026-001234", "HB-26-0412", "2026-004321"} <= secrets
    assert CONTEXT["justification"] in secrets
    anonymous = _anonymous(harness)
    page, data = anonymous.get("/transparency"), anonymous.get("/transparency.json")
    assert page.status_code == data.status_code == 200
    assert not anonymous.cookies and "set-cookie" not in page.headers
    assert data.headers["content-type"].startswith("application/json")
    for text in (page.text, data.text, json.dumps(data.json())):
        leaked = sorted(s for s in secrets if s.lower() in text.lower())
        assert not leaked, f"the public figures hold {leaked}"
    assert "Pier Ave North" not in page.text and "1200 Pier Ave" not in page.text and "33.8812" not in page.text
    assert "Hermosa Beach Police Department" in page.text  # a recipient agency's name is public
    assert 'href="/policy"' in page.text


def test_the_page_and_the_json_show_the_same_figures_and_small_counts_are_hidden(harness: Harness) -> None:
    _seed(harness)
    anonymous = _anonymous(harness)
    figures = anonymous.get("/transparency.json").json()
    few = {"fewer_than": 3}
    assert figures["reads"] == {"last_30_days": 7, "last_year": 7}
    assert figures["hotlists"]["live_hits"] == few and figures["hotlists"]["hit_ratio"] is None
    alerts = figures["alerts"]
    assert alerts["closed"] == few and alerts["misreads"] == few and alerts["misread_share"] is None
    assert {d["label"]: d["count"] for d in alerts["dispositions"]}["No action"] == 0
    assert figures["searches"]["total"] == 4
    purpose = next(p for p in figures["searches"]["by_purpose"] if p["count"] == 4)
    assert purpose["purpose"] == "Investigation for prosecution or exoneration of suspected criminal incidents"
    assert figures["sharing"]["recipients"] == [
        {"agency": "Hermosa Beach Police Department", "releases": few, "reads": few}
    ]
    assert figures["cameras"]["by_kind"] == [{"kind": "fixed", "count": 1}, {"kind": "mobile", "count": 1}]
    assert {a["area"] for a in figures["cameras"]["areas"]} == {"33.88, -118.41", "not recorded"}
    assert figures["retention"]["days"] == 365 and figures["retention"]["legal_holds"] == few
    assert figures["audits"] == {"per_year": 2, "reports": []}
    page = anonymous.get("/transparency").text
    assert "fewer than 3" in page and "No audit report yet." in page
    assert "not shown (too few to count)" in page  # the hit ratio and the misread share
    assert "<svg" in page and 'aria-label="Searches by purpose"' in page


def _exact(harness: Harness, **config: Any) -> dict[str, Any]:
    """The figures computed straight from the service with no small count hidden."""
    settings = harness.settings.model_copy(
        update={"transparency": harness.settings.transparency.model_copy(update={"min_count": 1, **config})}
    )
    with harness.database.session() as session:
        work = harness.work(session)
        return transparency_figures(type(work)(session, settings, work.key, work.actor), None)


def test_the_figures_match_the_database(harness: Harness) -> None:
    _seed(harness)
    figures = _exact(harness)
    with harness.database.session() as session:
        reads = session.scalar(select(func.count(PlateRead.id)))
        searches = session.scalar(
            select(func.count(AuditEvent.seq)).where(
                AuditEvent.action == "reads.search", AuditEvent.outcome == "success"
            )
        )
    assert figures["reads"]["last_year"] == reads == len(PLATES)
    assert figures["searches"]["total"] == searches == 4
    assert figures["hotlists"]["live_hits"] == 1 and figures["hotlists"]["hit_ratio"] == round(1 / len(PLATES), 4)
    assert figures["alerts"]["closed"] == figures["alerts"]["misreads"] == 1 and figures["alerts"]["misread_share"] == 1
    assert figures["sharing"]["agency_releases"] == 1 and figures["sharing"]["agency_requests"] == 1
    assert figures["sharing"]["recipients"] == [
        {"agency": "Hermosa Beach Police Department", "releases": 1, "reads": 1}
    ]
    assert figures["cameras"]["total"] == 2 and figures["retention"]["legal_holds"] == 1


def test_camera_positions_follow_the_config(harness: Harness) -> None:
    _seed(harness)
    none = _exact(harness, camera_positions="none")["cameras"]
    assert "areas" not in none and "exact" not in none
    coarse = _exact(harness, area_decimals=1)["cameras"]
    assert {a["area"] for a in coarse["areas"]} == {"33.9, -118.4", "not recorded"}
    exact = _exact(harness, camera_positions="exact")["cameras"]["exact"]
    assert {"name": "Pier Ave North", "kind": "fixed", "location": "1200 Pier Ave at Valley Dr",
            "latitude": 33.88127, "longitude": -118.41023} in exact  # fmt: skip


def test_only_the_configured_blocks_show(harness: Harness) -> None:
    figures = _exact(harness, blocks=("reads", "audits"))
    assert figures["blocks"] == ["reads", "audits"]
    assert "cameras" not in figures and "sharing" not in figures and "reads" in figures


def test_figures_are_cached_for_at_most_cache_minutes(harness: Harness) -> None:
    _, key = harness.camera("North")
    now = [0.0]
    face = PublicFace(clock=lambda: now[0])
    settings = harness.settings.model_copy(
        update={"transparency": harness.settings.transparency.model_copy(update={"min_count": 1, "cache_minutes": 10})}
    )

    def reads() -> Any:
        with harness.database.session() as session:
            work = harness.work(session)
            return face.figures(type(work)(session, settings, work.key, work.actor))["reads"]["last_30_days"]

    assert reads() == 0
    ingest(harness, key, make_read("7ABC123"))
    now[0] = 599.0
    assert reads() == 0  # within the ten minutes: the cached figures
    now[0] = 600.0
    assert reads() == 1


class _Reports:
    def latest(self, session: Any, limit: int) -> list[AuditReport]:
        return [AuditReport(finished_on=date(2026, 7, 15), findings=2, period="2026-01-01 to 2026-06-30")]


def test_the_last_audits_come_from_the_provider_the_composition_root_hands_in(harness: Harness) -> None:
    with harness.database.session() as session:
        figures = transparency_figures(harness.work(session), _Reports())
    assert figures["audits"]["reports"] == [
        {"finished_on": "2026-07-15", "period": "2026-01-01 to 2026-06-30", "findings": {"fewer_than": 3}}
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_until_published_the_public_gets_a_notice_and_the_administrator_a_preview(
    tmp_path: Path, database_url: str, harness: Harness
) -> None:
    draft = load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH)
    assert draft.transparency.published is False
    with TestClient(create_app(draft, harness.database)) as anonymous:
        page, data = anonymous.get("/transparency"), anonymous.get("/transparency.json")
        assert page.status_code == data.status_code == 404
        assert "not published yet" in page.text and 'href="/policy"' in page.text
        assert data.json()["policy"] == "/policy"
        assert anonymous.get("/policy").status_code == 200  # the law's minimum: never turned off
        assert 'href="/transparency"' not in anonymous.get("/login").text  # no footer link to a page not live
        assert anonymous.get("/transparency/preview", follow_redirects=False).status_code == 303
        admin = harness.login(harness.user("adminpreview", "alpr_admin"), anonymous)
        preview = admin.get("/transparency/preview")
        assert preview.status_code == 200 and "Not published" in preview.text and "Plates read" in preview.text
        officer = harness.login(harness.user("officerpreview", "sworn_officer"), TestClient(anonymous.app))
        assert officer.get("/transparency/preview").status_code == 403


def test_the_sign_in_page_links_the_policy_and_the_transparency_page(harness: Harness) -> None:
    page = _anonymous(harness).get("/login").text
    assert 'href="/policy"' in page and 'href="/transparency"' in page
