"""Searching reads: no purpose, no data; every access audited with its query elements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from tests.conftest import CONTEXT, Harness, make_read, shown_details


def _seed(harness: Harness) -> dict[str, int]:
    cam_a, key_a = harness.camera("North", "fixed")
    cam_b, key_b = harness.camera("Unit 7", "mobile")
    now = datetime.now(UTC)
    reads_a = [
        make_read("7ABC123", captured_at=(now - timedelta(hours=1)).isoformat()),
        make_read("7ABD123", captured_at=(now - timedelta(hours=30)).isoformat()),
        make_read("7XBC123", captured_at=(now - timedelta(hours=2)).isoformat()),
    ]
    reads_b = [
        make_read("7ABC123", captured_at=(now - timedelta(hours=3)).isoformat()),
        make_read("5SOW350", captured_at=(now - timedelta(days=3)).isoformat()),
    ]
    for key, reads in ((key_a, reads_a), (key_b, reads_b)):
        response = harness.client.post(
            "/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.json()["stored"] == len(reads)
    return {"a": cam_a, "b": cam_b}


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_search_without_purpose_is_refused_and_recorded(harness: Harness) -> None:
    _seed(harness)
    officer = harness.signed_in("sworn_officer", "dana")
    response = officer.get("/api/v1/reads", params={"plate": "7ABC123"})
    assert response.status_code == 400
    body = response.json()
    assert set(body["problems"]) == {"purpose", "case_number", "justification"}
    assert "purpose" in body["detail"] and "case number" in body["detail"]
    refused = _events(harness, "reads.access_refused")
    assert refused[-1].username == "dana" and refused[-1].outcome == "denied"
    assert shown_details(harness.database, refused[-1])["query"]["plate"] == "7ABC123"
    assert _events(harness, "reads.search") == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purpose": "protest_monitoring"}, "purpose"),
        ({"case_number": "none"}, "case_number"),
        ({"case_number": ""}, "case_number"),
        ({"justification": "investigation"}, "justification"),
        ({"justification": "short"}, "justification"),
    ],
)
def test_bad_context_names_the_field(harness: Harness, overrides: dict[str, str], field: str) -> None:
    officer = harness.signed_in("sworn_officer")
    response = officer.get("/api/v1/reads", params={**CONTEXT, **overrides, "plate": "7ABC123"})
    assert response.status_code == 400
    assert list(response.json()["problems"]) == [field]


def test_search_with_purpose_returns_results_and_audits(harness: Harness) -> None:
    cams = _seed(harness)
    officer = harness.signed_in("sworn_officer", "dana")
    response = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7abc123"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2
    assert {r["camera"]["id"] for r in body["results"]} == {cams["a"], cams["b"]}
    first = body["results"][0]
    assert first["plate"] == "7ABC123" and first["crop_url"].endswith("/images/crop")
    assert first["captured_at"] > body["results"][1]["captured_at"]  # newest first
    event = _events(harness, "reads.search")[-1]
    assert (event.username, event.organization, event.role) == ("dana", "EXPD", "sworn_officer")
    assert (event.purpose, event.case_number) == (CONTEXT["purpose"], CONTEXT["case_number"])
    assert event.justification == CONTEXT["justification"]
    assert shown_details(harness.database, event)["plate"] == "7ABC123" and event.details["results"] == 2


def test_context_may_come_in_headers(harness: Harness) -> None:
    _seed(harness)
    officer = harness.signed_in("records")
    headers = {
        "X-Purpose": CONTEXT["purpose"],
        "X-Case-Number": CONTEXT["case_number"],
        "X-Justification": CONTEXT["justification"],
    }
    assert officer.get("/api/v1/reads", params={"plate": "7ABC123"}, headers=headers).json()["total"] == 2


def test_wildcards_time_range_and_cameras(harness: Harness) -> None:
    cams = _seed(harness)
    officer = harness.signed_in("sworn_officer")

    def plates(**params: object) -> list[str]:
        response = officer.get("/api/v1/reads", params={**CONTEXT, **params})
        assert response.status_code == 200, response.text
        return sorted(r["plate"] for r in response.json()["results"])

    assert plates(plate="7AB*") == ["7ABC123", "7ABC123", "7ABD123"]
    assert plates(plate="7?BC123") == ["7ABC123", "7ABC123", "7XBC123"]
    assert plates(plate="7AB*", camera=[cams["b"]]) == ["7ABC123"]
    now = datetime.now(UTC)
    assert plates(since=(now - timedelta(hours=4)).isoformat(), until=now.isoformat()) == [
        "7ABC123",
        "7ABC123",
        "7XBC123",
    ]
    assert plates(plate="7ABD123", since=(now - timedelta(hours=4)).isoformat()) == []
    event = _events(harness, "reads.search")[-1]
    assert event.details["since"] is not None and shown_details(harness.database, event)["plate"] == "7ABD123"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"plate": "7*"}, "at least 3 known characters"),
        ({"plate": "7AB%"}, "letters, digits"),
        ({"plate": "' OR 1=1 --"}, "letters, digits"),
        ({}, "give a plate"),
        ({"plate": "7ABC123", "since": "2026-01-01T00:00:00"}, "timezone"),
        (
            {"plate": "7ABC123", "since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            "after since",
        ),
    ],
)
def test_bad_queries_are_refused_with_a_reason(harness: Harness, params: dict[str, str], message: str) -> None:
    officer = harness.signed_in("sworn_officer")
    response = officer.get("/api/v1/reads", params={**CONTEXT, **params})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_pagination(harness: Harness) -> None:
    _, key = harness.camera()
    size = harness.settings.search.page_size
    reads = [make_read("6PAGE01") for _ in range(size + 3)]
    harness.client.post("/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"})
    officer = harness.signed_in("sworn_officer")
    first = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "6PAGE01"}).json()
    second = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "6PAGE01", "page": 2}).json()
    assert (first["total"], first["pages"], len(first["results"]), len(second["results"])) == (
        size + 3,
        2,
        size,
        3,
    )
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_read_detail_and_images_are_audited(harness: Harness) -> None:
    _seed(harness)
    officer = harness.signed_in("sworn_officer", "dana")
    read_id = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "5SOW350"}).json()["results"][0]["id"]
    assert officer.get(f"/api/v1/reads/{read_id}").status_code == 400
    detail = officer.get(f"/api/v1/reads/{read_id}", params=CONTEXT)
    assert detail.status_code == 200
    assert detail.json()["plate"] == "5SOW350" and "crop" in detail.json()["images"]
    image = officer.get(f"/api/v1/reads/{read_id}/images/crop", params=CONTEXT)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"
    assert officer.get(f"/api/v1/reads/{read_id}/images/overview", params=CONTEXT).status_code == 404
    assert officer.get("/api/v1/reads/00000000-0000-4000-8000-000000000000", params=CONTEXT).status_code == 404
    views = _events(harness, "reads.view")
    assert [v.details["found"] for v in views] == [True, False]
    assert shown_details(harness.database, views[0])["plate"] == "5SOW350"
    assert views[0].case_number == CONTEXT["case_number"]
    assert len(_events(harness, "reads.image")) == 2


@pytest.mark.parametrize("role", ["auditor", "vendor_maintenance"])
def test_roles_without_plate_access_are_refused(harness: Harness, role: str) -> None:
    _seed(harness)
    client = harness.signed_in(role)
    assert client.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).status_code == 403
    assert client.get("/search", params={**CONTEXT, "plate": "7ABC123"}).status_code == 403


def test_search_without_sign_in_is_401(harness: Harness) -> None:
    assert harness.client.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).status_code == 401
