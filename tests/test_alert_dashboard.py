"""The alert page for a busy shift (issue 20, defect 4): newest sighting first, filters, paging, historical leads
closed in bulk, and open alerts by priority on the home page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from platekeeper.alerts.models import Alert
from platekeeper.audit.models import AuditEvent
from tests.conftest import Harness, csrf_of
from tests.hotlist_helpers import CSV_HEADER, hotlist_with, ingest, load, make_read

REASON = "reviewed the leads: the vehicles were last seen weeks ago and are gone"


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _busy_shift(harness: Harness) -> tuple[Any, Any, int]:
    """Three plates read in the past, then listed (three historical leads), then one live P1 hit."""
    _, key = harness.camera("North")
    ingest(
        harness,
        key,
        *(make_read(p, captured_at=_ago(d)) for p, d in (("1OLD111", 20), ("2OLD222", 10), ("3OLD333", 5))),
    )
    manager, stolen = hotlist_with(harness, "1OLD111,CA,VEH,x,,,,\n2OLD222,CA,VEH,x,,,,\n3OLD333,CA,VEH,x,,,,\n")
    _, warrants = hotlist_with(harness, "", name="Warrants", kind="warrant")
    load(harness, manager, warrants, CSV_HEADER + "4WAR444,CA,WAR,x,,,,\n")
    ingest(harness, key, make_read("1OLD111"), make_read("4WAR444"))  # live: a P1 stolen vehicle and a P2 warrant
    return manager, harness.signed_in("sworn_officer"), stolen


def test_newest_sighting_first_with_filters_and_paging(harness: Harness) -> None:
    _, officer, stolen = _busy_shift(harness)
    body = officer.get("/api/v1/alerts").json()
    assert body["total"] == 5 and body["page"] == 1
    plates = [(a["plate"], a["historical"]) for a in body["alerts"]]
    assert plates[:2] in ([("1OLD111", False), ("4WAR444", False)], [("4WAR444", False), ("1OLD111", False)])
    assert [p for p, _ in plates[2:]] == ["3OLD333", "2OLD222", "1OLD111"]  # the leads, newest sighting first
    live = officer.get("/api/v1/alerts", params={"source": "live"}).json()
    assert {a["plate"] for a in live["alerts"]} == {"1OLD111", "4WAR444"} and live["total"] == 2
    leads = officer.get("/api/v1/alerts", params={"source": "historical", "hotlist_id": stolen}).json()
    assert leads["total"] == 3 and all(a["historical"] for a in leads["alerts"])
    p2 = officer.get("/api/v1/alerts", params={"priority": 2}).json()
    assert [a["plate"] for a in p2["alerts"]] == ["4WAR444"]
    assert officer.get("/api/v1/alerts", params={"status": "closed"}).json()["total"] == 0
    paged = officer.get("/api/v1/alerts", params={"page": 2, "page_size": 2}).json()
    assert (paged["pages"], len(paged["alerts"])) == (3, 2)
    for bad in ({"status": "bogus"}, {"source": "yesterday"}, {"page": 0}, {"priority": 9}, {"page_size": 10**6}):
        refused = officer.get("/api/v1/alerts", params=bad)
        assert refused.status_code == 422 and next(iter(bad)) in refused.text, bad
    as_sent = {"source": "all", "status": "all", "hotlist_id": "", "priority": ""}  # the form's "any", as sent
    assert officer.get("/alerts", params=as_sent).status_code == 200
    assert officer.get("/api/v1/alerts", params={**as_sent, "priority": "1"}).json()["total"] == 4
    assert officer.get("/api/v1/alerts", params={"hotlist_id": "99999999999"}).status_code == 422
    page = officer.get("/alerts", params={"source": "historical"})
    assert page.status_code == 200 and page.text.count('class="alert-row') == 3 and "3 of 5" not in page.text
    assert 'name="source"' in page.text and 'name="status"' in page.text and 'name="priority"' in page.text


def test_a_records_manager_closes_historical_leads_in_bulk_with_a_reason(harness: Harness) -> None:
    manager, officer, _ = _busy_shift(harness)
    with harness.database.session() as session:
        alerts = {(a.plate, a.historical): a.id for a in session.scalars(select(Alert))}
    leads = [alerts[("2OLD222", True)], alerts[("3OLD333", True)]]
    live, worked = alerts[("1OLD111", False)], alerts[("1OLD111", True)]
    assert officer.post(f"/api/v1/alerts/{worked}/acknowledge").status_code == 200  # an officer is working this lead
    assert officer.post("/api/v1/alerts/leads/close", json={"alert_ids": leads, "reason": REASON}).status_code == 403
    short = manager.post("/api/v1/alerts/leads/close", json={"alert_ids": leads, "reason": "done"})
    assert short.status_code == 400 and "reason" in short.json()["detail"]
    closed = manager.post("/api/v1/alerts/leads/close", json={"alert_ids": [*leads, live, worked], "reason": REASON})
    assert closed.status_code == 200, closed.text
    skipped = closed.json()["skipped"]
    assert closed.json()["closed"] == 2 and [s["id"] for s in skipped] == [live, worked]
    assert skipped[0]["why"] == "a live alert" and skipped[1]["why"].startswith("being verified (acknowledged)")
    with harness.database.session() as session:
        rows = {a.id: a for a in session.scalars(select(Alert))}
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "alerts.lead_closed")).all()
    assert all(rows[i].status == "closed" and rows[i].notes == REASON for i in leads)
    assert rows[live].status == "new"
    assert sorted(e.case_number for e in events) == sorted(f"ALERT-{i}" for i in leads)  # each under its own reference
    assert {e.username for e in events} == {rows[leads[0]].disposition_by}
    page = manager.get("/alerts", params={"source": "historical"})
    assert 'action="/alerts/leads/close"' in page.text and 'name="alert_id"' not in page.text  # no new lead left
    assert 'action="/alerts/leads/close"' not in officer.get("/alerts", params={"source": "historical"}).text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    huge = manager.post("/alerts/leads/close", data={"csrf_token": token, "reason": REASON, "alert_id": "9" * 20})
    assert huge.status_code == 422


def test_the_home_page_shows_open_alerts_by_priority(harness: Harness) -> None:
    _, officer, _ = _busy_shift(harness)
    home = officer.get("/").text
    assert 'id="open-alerts"' in home
    assert "P1</a>: <b>4</b>" in home and "P2</a>: <b>1</b>" in home


@pytest.mark.parametrize("sound", [False, True])
def test_the_live_banner_and_its_sound_follow_config(harness: Harness, sound: bool) -> None:
    harness.settings.alerts.__dict__["sound_on_live_hit"] = sound
    page = harness.signed_in("sworn_officer").get("/alerts").text
    assert 'id="live-banner"' in page and f'data-sound="{"on" if sound else "off"}"' in page


def test_closing_leads_in_bulk_redirects_and_the_outcome_shows_after_it(harness: Harness) -> None:
    """Post/Redirect/Get: reloading the page after a bulk close must not post the close again."""
    manager, _, _ = _busy_shift(harness)
    with harness.database.session() as session:
        alerts = [a.id for a in session.scalars(select(Alert))]  # three historical leads and two live hits
    token = csrf_of(manager.get("/alerts", params={"source": "historical"}).text)
    posted = manager.post(
        "/alerts/leads/close",
        data={"csrf_token": token, "reason": REASON, "alert_id": [str(i) for i in alerts]},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    shown = manager.get(posted.headers["location"])
    assert shown.status_code == 200 and "Closed 3 leads; 2 left as they were" in shown.text
    assert "source=historical" in posted.headers["location"] and REASON not in posted.headers["location"]
    again = manager.get(posted.headers["location"])  # a reload shows the outcome, and closes nothing more
    with harness.database.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "alerts.lead_closed")).all()
    assert len(events) == 3 and "Closed 3 leads" in again.text
    empty = manager.post("/alerts/leads/close", data={"csrf_token": token, "reason": REASON})
    assert empty.status_code == 400 and "Check the leads to close first." in empty.text
