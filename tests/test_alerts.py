"""Alerts: raised at ingest (best text and OCR alternates), opened with a purpose, verified step by step (462.8)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from tests.conftest import CONTEXT, Harness, shown_details
from tests.hotlist_helpers import hotlist_with, ingest, make_read

ROWS = "5SOW350,CA,VEH,Stolen 2026-11-20,V123456789,HOND,CIV,GRY\n7XYZ999,CA,WAN,Felony warrant,,TOYT,CAM,BLK\n"


def _actions(harness: Harness, prefix: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.seq))
        )


def _alerts(client: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts")
    assert response.status_code == 200, response.text
    return response.json()["alerts"]


def test_ingest_raises_alerts_with_match_kinds(harness: Harness) -> None:
    hotlist_with(harness, ROWS)
    _, key = harness.camera("Highland & 15th")
    candidates = [{"text": "7XYZ999", "confidence": 0.4}, {"text": "7XYZ998", "confidence": 0.3}]
    ingest(
        harness,
        key,
        make_read("5SOW350", region="us-nv"),
        make_read("55OW35O"),
        make_read("7XYZ990", candidates=candidates),
        make_read("8QQQ111"),
    )
    officer = harness.signed_in("sworn_officer")
    alerts = sorted(_alerts(officer), key=lambda a: a["plate"], reverse=True)
    assert [(a["plate"], a["match_kind"], a["matched_via"]) for a in alerts] == [
        ("7XYZ990", "exact", "candidate"),
        ("5SOW350", "exact", "best"),
        ("55OW35O", "confusable", "best"),
    ]
    assert alerts[1]["state_mismatch"] is True and alerts[2]["state_mismatch"] is False
    assert alerts[1]["priority"] == 1 and alerts[1]["vehicle"] == "GRY HOND CIV"
    assert alerts[0]["kind"] == "wanted_person" and alerts[0]["status"] == "new"
    assert len(_actions(harness, "alerts.create")) == 3


def test_alert_detail_is_filed_under_the_alerts_own_context_and_shows_candidates(harness: Harness) -> None:
    hotlist_with(harness, ROWS)
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350", candidates=[{"text": "5SOW35O", "confidence": 0.2}]))
    officer = harness.signed_in("sworn_officer", "dana")
    alert_id = _alerts(officer)[0]["id"]
    detail = officer.get(f"/api/v1/alerts/{alert_id}", params=CONTEXT)  # a stated search context is not used
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["entry"]["make"] == "HOND" and body["entry"]["nic"] == "V123456789"
    assert body["read"]["candidates"] == [{"text": "5SOW35O", "confidence": 0.2}]
    assert "crop" in body["read"]["images"]
    view = _actions(harness, "alerts.view")[-1]
    assert (view.username, view.purpose) == ("dana", "criminal_investigation")
    assert view.case_number == f"ALERT-{alert_id} NIC V123456789"
    assert shown_details(harness.database, _actions(harness, "reads.view")[-1])["plate"] == "5SOW350"
    assert _actions(harness, "reads.view")[-1].case_number == view.case_number
    assert _actions(harness, "alerts.access_refused") == [] and _actions(harness, "reads.access_refused") == []
    missing = officer.get("/api/v1/alerts/999999")
    assert missing.status_code == 404 and _actions(harness, "alerts.view")[-1].outcome == "failure"


def _new_alert(harness: Harness) -> tuple[Any, int]:
    hotlist_with(harness, ROWS)
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350"))
    officer = harness.signed_in("sworn_officer", "dana")
    return officer, _alerts(officer)[0]["id"]


STEPS = {
    "acknowledge": None,
    "visual-check": {"result": "match", "attested": True},
    "clets": {"result": "confirmed", "reference": "CL-20261128-0042"},
    "disposition": {"disposition": "action_taken"},
}


def _post(client: Any, alert_id: int, step: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1/alerts/{alert_id}/{step}", json=body if body is not None else STEPS[step])


def test_full_verification_flow_is_audited(harness: Harness) -> None:
    officer, alert_id = _new_alert(harness)
    for step in STEPS:
        response = _post(officer, alert_id, step)
        assert response.status_code == 200, (step, response.text)
    body = response.json()
    assert body["status"] == "closed" and body["verification"]["clets"]["reference"] == "CL-20261128-0042"
    assert body["verification"]["visual_check"]["by"] == "dana"
    actions = [e.action for e in _actions(harness, "alerts.") if e.action != "alerts.dashboard"]
    assert actions[-4:] == ["alerts.acknowledge", "alerts.visual_check", "alerts.clets", "alerts.disposition"]


ORDER = list(STEPS)


@pytest.mark.parametrize("done", range(len(ORDER) + 1))
def test_every_illegal_transition_is_refused(harness: Harness, done: int) -> None:
    """After the first `done` steps, every step other than the next legal ones is refused with 409 and audited."""
    officer, alert_id = _new_alert(harness)
    for step in ORDER[:done]:
        assert _post(officer, alert_id, step).status_code == 200
    legal = {0: {"acknowledge"}, 1: {"visual-check", "disposition"}, 2: {"clets", "disposition"}, 3: {"disposition"}}
    for step in ORDER:
        if step in legal.get(done, set()):
            continue
        before = officer.get(f"/api/v1/alerts/{alert_id}", params=CONTEXT).json()["status"]
        response = _post(officer, alert_id, step)
        assert response.status_code == 409, (done, step, response.text)
        assert officer.get(f"/api/v1/alerts/{alert_id}", params=CONTEXT).json()["status"] == before
    refused = _actions(harness, "alerts.transition_refused")
    assert len(refused) == len(ORDER) - len(legal.get(done, set()))
    assert all(e.outcome == "denied" for e in refused)


@pytest.mark.parametrize(
    ("visual", "clets", "message"),
    [
        ({"result": "misread", "attested": True}, None, "visual check"),
        ({"result": "match", "attested": True}, None, "CLETS"),
        ({"result": "match", "attested": True}, {"result": "not_on_file", "reference": "CL-1234"}, "CLETS"),
        ({"result": "vehicle_mismatch", "attested": True}, {"result": "confirmed", "reference": "CL-1234"}, "visual"),
    ],
)
def test_enforcement_needs_visual_match_and_clets(
    harness: Harness, visual: dict[str, Any], clets: dict[str, Any] | None, message: str
) -> None:
    officer, alert_id = _new_alert(harness)
    assert _post(officer, alert_id, "acknowledge").status_code == 200
    assert _post(officer, alert_id, "visual-check", visual).status_code == 200
    if clets:
        assert _post(officer, alert_id, "clets", clets).status_code == 200
    detail = officer.get(f"/api/v1/alerts/{alert_id}", params=CONTEXT).json()
    enforcement = next(d for d in detail["dispositions"] if d["code"] == "action_taken")
    assert enforcement["allowed"] is False and message in enforcement["reason"]
    refused = _post(officer, alert_id, "disposition", {"disposition": "action_taken"})
    assert refused.status_code == 409 and "462.8" in refused.json()["detail"]
    assert _post(officer, alert_id, "disposition", {"disposition": "misread"}).status_code == 200


@pytest.mark.parametrize(
    ("step", "body", "field"),
    [
        ("visual-check", {"result": "match", "attested": False}, "attested"),
        ("visual-check", {"result": "looks fine", "attested": True}, "result"),
    ],
)
def test_bad_step_input_names_the_field(harness: Harness, step: str, body: dict[str, Any], field: str) -> None:
    officer, alert_id = _new_alert(harness)
    _post(officer, alert_id, "acknowledge")
    response = _post(officer, alert_id, step, body)
    assert response.status_code == 409 and response.json()["detail"].startswith(field)


def test_bad_clets_reference_and_unknown_disposition(harness: Harness) -> None:
    officer, alert_id = _new_alert(harness)
    for step in ORDER[:2]:
        _post(officer, alert_id, step)
    assert "reference" in _post(officer, alert_id, "clets", {"result": "confirmed", "reference": "x"}).json()["detail"]
    assert "disposition" in _post(officer, alert_id, "disposition", {"disposition": "shrug"}).json()["detail"]


def test_roles_without_verify_cannot_work_alerts(harness: Harness) -> None:
    _, alert_id = _new_alert(harness)
    parking = harness.signed_in("parking_animal_control")
    assert parking.get("/api/v1/alerts").status_code == 200
    assert _post(parking, alert_id, "acknowledge").status_code == 403
    for role in ("auditor", "vendor_maintenance"):
        assert harness.signed_in(role).get("/api/v1/alerts").status_code == 403


def test_figures_misread_rate_per_camera_and_hits_per_list(harness: Harness) -> None:
    hotlist_with(harness, ROWS)
    _, key = harness.camera("North")
    ingest(harness, key, make_read("5SOW350"), make_read("5SOW350"), make_read("7XYZ999"))
    officer = harness.signed_in("sworn_officer")
    ids = sorted(a["id"] for a in _alerts(officer))
    for alert_id, disposition in zip(ids, ["misread", "no_action", "wrong_state"], strict=True):
        _post(officer, alert_id, "acknowledge")
        _post(officer, alert_id, "disposition", {"disposition": disposition})
    auditor = harness.signed_in("auditor")
    figures = auditor.get("/api/v1/alerts/figures").json()
    assert figures["cameras"][0]["camera"] == "North"
    assert (figures["cameras"][0]["closed"], figures["cameras"][0]["misreads"]) == (3, 2)
    assert figures["cameras"][0]["misread_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert figures["lists"] == [
        {"hotlist": "NCIC stolen", "kind": "stolen_vehicle", "hits": 2},
        {"hotlist": "NCIC stolen", "kind": "wanted_person", "hits": 1},
    ]


def test_untrained_officer_gets_no_alerts_or_entries(harness: Harness) -> None:
    """Alerts and hotlist entries are plate data: the training gate (462.10) covers them like searches."""
    _, hotlist_id = hotlist_with(harness, ROWS)
    name = harness.user("untrained", "sworn_officer", trained=False)
    client = harness.login(name, TestClient(harness.client.app))
    for path in ("/api/v1/alerts", f"/api/v1/hotlists/{hotlist_id}/entries"):
        response = client.get(path, params=CONTEXT)
        assert response.status_code == 403 and "training" in response.text, (path, response.text)


def test_the_dashboard_records_its_purpose(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/api/v1/alerts").status_code == 200
    (event,) = _actions(harness, "alerts.dashboard")
    assert event.purpose == harness.settings.alerts.dashboard_purpose == "wanted_person"
