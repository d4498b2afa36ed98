"""A plate's story (issue 20): its reads on a timeline and an offline map, the crops side by side, its hotlist hits;
under an authorized context and audited like a search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from platekeeper.alerts.models import Alert
from platekeeper.audit.models import AuditEvent
from platekeeper.plates.map import story_map
from tests.conftest import CONTEXT, Harness, shown_details
from tests.hotlist_helpers import hotlist_with, ingest, make_read


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_a_plates_story_under_a_context_is_audited_like_a_search(harness: Harness) -> None:
    _, key = harness.camera("North")
    ingest(
        harness,
        key,
        make_read("5SOW350", captured_at=_ago(3), latitude=33.90, longitude=-118.40),
        make_read("5SOW350", captured_at=_ago(1), latitude=33.89, longitude=-118.41),
        make_read("7OTHER1"),
    )
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,HOND,CIV,GRY\n")  # historical hits for both reads
    officer = harness.signed_in("sworn_officer")
    cold = officer.get("/plates/5SOW350")
    assert cold.status_code == 400 and "State the purpose first" in cold.text and "missing" not in cold.text
    page = officer.get("/plates/5SOW350", params=CONTEXT)
    assert page.status_code == 200, page.text
    assert page.text.count('class="read-point"') == 2 and "7OTHER1" not in page.text
    assert page.text.count('class="thumb"') == 2 and "Hotlist hits (2)" in page.text
    headers = {"X-Purpose": CONTEXT["purpose"], "X-Case-Number": CONTEXT["case_number"]}
    api = officer.get("/api/v1/plates/5SOW350", headers={**headers, "X-Justification": CONTEXT["justification"]})
    assert api.status_code == 200 and api.json()["total_reads"] == 2 and len(api.json()["hits"]) == 2
    assert officer.get("/api/v1/plates/5SOW350").status_code == 400  # no context
    assert officer.get("/api/v1/plates/5SOW*", params=CONTEXT).status_code == 400  # no wildcards here
    with harness.database.session() as session:
        stories = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.plate_story")).all()
    assert len(stories) == 2 and {s.case_number for s in stories} == {CONTEXT["case_number"]}
    assert shown_details(harness.database, stories[0])["plate"] == "5SOW350" and stories[0].details["reads"] == 2
    auditor = harness.signed_in("auditor")  # no plate data for an auditor
    assert auditor.get("/plates/5SOW350", params=CONTEXT).status_code == 403


def test_the_map_projects_points_inside_the_picture_on_a_grid() -> None:
    drawn = story_map([("North", 33.90, -118.40), ("Unit 12", None, None)], [("r1", 33.89, -118.41)])
    assert drawn is not None and len(drawn.points) == 2
    assert all(0 < p.x < drawn.width and 0 < p.y < drawn.height for p in drawn.points)
    north, read = drawn.points
    assert north.x > read.x and north.y < read.y  # east is right, north is up
    assert 2 <= len(drawn.grid_x) <= 6 and 2 <= len(drawn.grid_y) <= 6
    assert story_map([("Unit 12", None, None)], []) is None


def test_a_plates_story_dates_every_hotlist_hit_live_ones_included(harness: Harness) -> None:
    """A live hit's time alone ("14:03:12") on a story that spans weeks says nothing about which day it was."""
    _, key = harness.camera("North")
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,HOND,CIV,GRY\n")
    ingest(harness, key, make_read("5SOW350"))  # a live hit
    page = harness.signed_in("sworn_officer").get("/plates/5SOW350", params=CONTEXT)
    assert page.status_code == 200 and "Hotlist hits (1)" in page.text
    hits = page.text.split("Hotlist hits (1)")[1].split("</table>")[0]
    with harness.database.session() as session:
        alert = session.scalars(select(Alert)).one()
    seen = alert.captured_at.astimezone(harness.settings.tz).strftime("%Y-%m-%d %H:%M:%S")
    assert not alert.historical and f"<td>{seen}</td>" in hits, hits
