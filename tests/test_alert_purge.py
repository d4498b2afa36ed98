"""Alerts and the retention purge (462.9): the plate data goes with the read, the dispositions stay for the figures."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from platekeeper.alerts.models import Alert
from platekeeper.alerts.service import release_alerts_for_purge
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import Actor
from platekeeper.reads.models import PlateRead
from tests.conftest import CONTEXT, Harness
from tests.hotlist_helpers import hotlist_with, ingest, make_read
from tests.test_alerts import ROWS, _post


def _alert_rows(harness: Harness) -> list[Alert]:
    with harness.database.session() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def _purge(harness: Harness, read_ids: list[uuid.UUID]) -> int:
    """What the retention purge does for expired reads: release their alerts, then delete the reads."""
    with harness.database.session() as session:
        released = release_alerts_for_purge(harness.work(session, Actor.system("retention")), read_ids)
        session.execute(delete(PlateRead).where(PlateRead.id.in_(read_ids)))
    return released


def _setup(harness: Harness) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    hotlist_with(harness, ROWS)
    _, key = harness.camera("North")
    reads = [make_read("5SOW350"), make_read("7XYZ999"), make_read("5SOW350")]
    ingest(harness, key, *reads)
    officer = harness.signed_in("sworn_officer")
    by_read = {a["read_id"]: a for a in officer.get("/api/v1/alerts").json()["alerts"]}
    return officer, reads, [by_read[r["id"]] for r in reads]  # in the order of the reads


def test_a_purge_keeps_the_figures_but_no_plate_data(harness: Harness) -> None:
    officer, reads, alerts = _setup(harness)
    first, second, third = (a["id"] for a in alerts)
    _post(officer, first, "acknowledge")
    _post(officer, first, "disposition", {"disposition": "misread", "notes": "plate read 5SOW350 was 5SOW850"})
    for step, body in (
        ("acknowledge", None),
        ("visual-check", {"result": "match", "attested": True}),
        ("clets", {"result": "confirmed", "reference": "CL-20261128-0042"}),
        ("disposition", {"disposition": "no_action"}),
    ):
        assert _post(officer, second, step, body).status_code == 200
    auditor = harness.signed_in("auditor")
    before = auditor.get("/api/v1/alerts/figures").json()
    purged = [uuid.UUID(reads[0]["id"]), uuid.UUID(reads[1]["id"])]
    assert _purge(harness, purged) == 2
    kept = {a.id: a for a in _alert_rows(harness)}
    assert set(kept) == {first, second, third}
    for alert in (kept[first], kept[second]):
        assert (alert.read_id, alert.plate, alert.matched_text, alert.entry, alert.entry_id) == (None, "", "", {}, None)
        assert (alert.clets_reference, alert.notes, alert.status) == (None, "", "closed")
        assert alert.purged_at is not None and alert.camera_id and alert.hotlist_name == "NCIC stolen"
    assert (kept[first].disposition, kept[second].disposition, kept[second].clets_result) == (
        "misread",
        "no_action",
        "confirmed",
    )
    assert kept[third].plate == "5SOW350" and kept[third].purged_at is None  # its read is still within retention
    after = auditor.get("/api/v1/alerts/figures").json()
    assert (after["cameras"], after["lists"]) == (before["cameras"], before["lists"])
    assert after["cameras"][0]["misreads"] == 1 and after["cameras"][0]["alerts"] == 3
    (event,) = _events(harness, "alerts.purge")
    assert event.details == {"reads": 2, "alerts_released": 2}


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_purge_that_forgets_the_alerts_is_refused_and_changes_nothing(harness: Harness) -> None:
    _, reads, _ = _setup(harness)
    read_id = uuid.UUID(reads[0]["id"])
    with pytest.raises(IntegrityError), harness.database.session() as session:
        session.execute(delete(PlateRead).where(PlateRead.id == read_id))
    with harness.database.session() as session:
        assert session.get(PlateRead, read_id) is not None
    assert (read_id, "5SOW350") in [(a.read_id, a.plate) for a in _alert_rows(harness)]
    assert not _events(harness, "alerts.purge")


def test_a_released_alert_shows_no_detail_and_takes_no_step(harness: Harness) -> None:
    officer, reads, alerts = _setup(harness)
    _purge(harness, [uuid.UUID(reads[0]["id"])])
    purged = alerts[0]["id"]
    detail = officer.get(f"/api/v1/alerts/{purged}", params=CONTEXT)
    assert detail.status_code == 404 and "purged after the retention period" in detail.json()["detail"]
    step = _post(officer, purged, "acknowledge")
    assert step.status_code == 409 and "462.9" in step.json()["detail"]
    refused = _events(harness, "alerts.transition_refused")[-1]
    assert refused.details["alert_id"] == purged and refused.outcome == "denied"
    assert purged not in {a["id"] for a in officer.get("/api/v1/alerts").json()["alerts"]}  # off the dashboard
    assert officer.get("/alerts").status_code == 200


def test_the_migration_keeps_existing_alerts(harness: Harness) -> None:
    _setup(harness)
    before = [(a.id, a.read_id, a.plate) for a in _alert_rows(harness)]
    harness.database.downgrade("0004")
    harness.database.upgrade()
    after = _alert_rows(harness)
    assert [(a.id, a.read_id, a.plate) for a in after] == before
    assert not any(a.historical or a.purged_at for a in after)
