"""The audit log as an auditor uses it (issue 20, defect 8): filtered by plate, case number and purpose; details
shown as labelled fields, nested ones too."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.events import labelled_details
from platekeeper.audit.models import AuditEvent
from tests.conftest import CONTEXT, Harness

OTHER_CASE = {**CONTEXT, "purpose": "crime_analysis", "case_number": "2026-000777"}


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _searches(harness: Harness) -> TestClient:
    """Dana searches 7ABC123 under the usual case, 5SOW350 under another case and purpose, and tries 7abc123
    without stating why (refused: recorded with what was asked)."""
    officer = harness.signed_in("sworn_officer", "dana")
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7abc123"}).status_code == 200
    assert officer.get("/api/v1/reads", params={**OTHER_CASE, "plate": "5SOW350"}).status_code == 200
    assert officer.get("/api/v1/reads", params={"plate": "7abc123"}).status_code == 400
    return officer


def _period(harness: Harness) -> tuple[str, str]:
    """Yesterday to tomorrow in the agency's timezone: today's events, whatever the hour the test runs."""
    today = datetime.now(harness.settings.tz).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


def test_api_filters_by_plate_case_number_and_purpose(harness: Harness) -> None:
    _searches(harness)
    auditor = harness.signed_in("auditor", "lee")

    def found(**params: str) -> list[tuple[str, str | None]]:
        response = auditor.get("/api/v1/audit/events", params=params)
        assert response.status_code == 200, response.text
        return sorted((e["action"], e["case_number"]) for e in response.json()["events"])

    both = [("reads.access_refused", None), ("reads.search", "2026-001234")]
    assert found(plate="7ABC123") == both  # the search's plate, and the plate a refused request asked for
    assert found(plate=" 7abc-123 ") == both  # upper-cased as searches are; the auditor's own views never match
    assert found(case_number="2026-000777") == [("reads.search", "2026-000777")]
    assert found(purpose="crime_analysis") == [("reads.search", "2026-000777")]
    assert found(plate="5SOW350", purpose="criminal_investigation") == []
    assert found(plate="7ABC123", action="reads.search", username="dana") == [("reads.search", "2026-001234")]


def test_the_page_filters_by_plate_case_number_and_purpose(harness: Harness) -> None:
    _searches(harness)
    auditor = harness.signed_in("auditor", "lee")
    page = auditor.get("/audit", params={"plate": "7abc123", "case_number": "2026-001234"})
    assert page.status_code == 200, page.text
    assert "1 event<" in page.text and page.text.count("<tr class=") == 1 and "<td>reads.search</td>" in page.text
    for name, value in (("plate", "7abc123"), ("case_number", "2026-001234"), ("purpose", "")):
        assert f'name="{name}" value="{value}"' in page.text
    assert auditor.get("/audit", params={"purpose": "crime_analysis"}).text.count("<tr class=") == 1


def test_each_view_records_the_new_filters_apart_from_the_plate_it_concerns(harness: Harness) -> None:
    _searches(harness)
    auditor = harness.signed_in("auditor", "lee")
    params = {"plate": "7abc123", "case_number": "2026-001234", "purpose": "criminal_investigation"}
    assert auditor.get("/api/v1/audit/events", params=params).status_code == 200
    view = _events(harness, "audit.view")[-1]
    assert view.details == {
        "plate_filter": "7ABC123",
        "case_number": "2026-001234",
        "purpose": "criminal_investigation",
        "page": 1,
    }
    assert (view.case_number, view.purpose) == (None, None)  # an audit view is not work on the case


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"plate": "7" * 40}, "plate"),
        ({"plate": "7AB\x00C"}, "plate"),
        ({"case_number": "2" * 65}, "case_number"),
        ({"case_number": "2026\x00"}, "case_number"),
        ({"purpose": "p" * 65}, "purpose"),
        ({"page": "two"}, "page"),
    ],
)
def test_bad_filter_values_are_a_4xx_naming_the_field(harness: Harness, params: dict[str, Any], field: str) -> None:
    auditor = harness.signed_in("auditor")
    for path in ("/api/v1/audit/events", "/audit"):
        response = auditor.get(path, params={"since": "2026-01-01", **params})
        assert response.status_code in (400, 422), (path, params, response.status_code)
        assert field in response.text, (path, response.text[:300])


def test_nested_details_are_labelled_pairs() -> None:
    query = {"plate": "7abc123", "wildcard": False, "since": None, "cameras": [1, 2], "case_number": "2026-000001"}
    stored = {"attempted": "reads.search", "reason": "no purpose", "query": query}
    assert labelled_details("reads.access_refused", stored) == [
        ("Action attempted", "reads.search"),
        ("Reason", "no purpose"),
        ("Query / Plate", "7abc123"),
        ("Query / Wildcard", "no"),
        ("Query / Cameras", "1, 2"),
        ("Query / Case number", "2026-000001"),
    ]
    errors = {"bad_rows": 2, "first_errors": [{"line": 3, "error_text": "no plate"}, {"line": 9, "error_text": "x"}]}
    assert labelled_details("hotlists.import_refused", errors) == [
        ("Bad rows", "2"),
        ("First errors", "Line: 3, Error text: no plate; Line: 9, Error text: x"),
    ]


def test_the_page_shows_a_refused_query_as_labelled_fields(harness: Harness) -> None:
    _searches(harness)
    auditor = harness.signed_in("auditor")
    page = auditor.get("/audit", params={"action": "reads.access_refused"})
    assert page.status_code == 200
    assert "<b>Action attempted:</b> reads.search" in page.text
    assert "<b>Query / Plate:</b> 7abc123" in page.text and "<b>Query / Page:</b> 1" in page.text
    details = page.text.split('class="details">', 1)[1].split("</td>", 1)[0]
    assert "<b>Query:</b>" not in details and "wildcard:" not in details and "{" not in details  # no raw object
