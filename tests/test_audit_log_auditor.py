"""The audit log as an auditor uses it (issue 20, defect 8): filtered by plate, case number and purpose; details
shown as labelled fields, nested ones too; a period exported as CSV or JSON Lines, streamed, safe to open in a
spreadsheet, and itself recorded in the log."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.events import labelled_details
from platekeeper.audit.export import EXPORT_COLUMNS, csv_cell
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import plate_digest
from platekeeper.config import Settings, load_settings
from tests.conftest import CONTEXT, FAST_HASH, Harness

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
    assert "1 event<" in page.text and page.text.count("<tr class=") == 1 and ">reads.search</td>" in page.text
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
        "plate_filter": {"digest": plate_digest(harness.key, "7ABC123")},  # the text beside it, to be forgotten
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
        ({"format": 3}, "format"),
    ],
)
def test_bad_filter_values_are_a_4xx_naming_the_field(harness: Harness, params: dict[str, Any], field: str) -> None:
    auditor = harness.signed_in("auditor")
    paths = {"page": ("/api/v1/audit/events", "/audit"), "format": ("/api/v1/audit/export", "/audit/export")}
    for path in paths.get(field, ("/api/v1/audit/events", "/audit", "/api/v1/audit/export", "/audit/export")):
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
    assert "<b>Query / Plate:</b> 7ab***3" in page.text and "<b>Query / Page:</b> 1" in page.text  # masked
    details = page.text.split('class="details" data-label="Details">', 1)[1].split("</td>", 1)[0]
    assert "<b>Query:</b>" not in details and "wildcard:" not in details and "{" not in details  # no raw object


def test_csv_cells_cannot_start_a_formula() -> None:
    for value in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(value) == "'" + value
    assert [csv_cell(v) for v in ("7ABC123", "", None, 12, "a=b")] == ["7ABC123", "", "", "12", "a=b"]


def test_csv_export_has_every_column_is_formula_safe_and_is_audited(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    stated = {"purpose": "=HYPERLINK(1)", "case_number": "+1-555", "justification": "@risk", "plate": "-7ABC123"}
    assert officer.get("/api/v1/reads", params=stated).status_code == 400  # refused, recorded as asked
    auditor = harness.signed_in("auditor", "lee")
    since, until = _period(harness)
    params = {"format": "csv", "since": since, "until": until, "action": "reads.access_refused"}
    response = auditor.get("/api/v1/audit/export", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="audit-log_{since}_to_{until}.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(EXPORT_COLUMNS)
    assert {"seq", "occurred_at", "client", "justification", "details", "hash"} <= set(rows[0])
    (row,) = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    (refused,) = _events(harness, "reads.access_refused")
    assert (row["seq"], row["username"], row["role"], row["hash"]) == (
        str(refused.seq),
        "dana",
        "sworn_officer",
        refused.hash,
    )
    assert row["purpose"] == "'=HYPERLINK(1)" and row["case_number"] == "'+1-555"
    assert json.loads(row["details"])["query"]["plate"] == {"digest": plate_digest(harness.key, "7ABC123")}
    assert json.loads(row["plate_texts"]) == {"query.plate": "-7A***3"}  # masked, inside JSON (starts with {)
    (exported,) = _events(harness, "audit.export")
    assert (exported.username, exported.outcome) == ("lee", "success")
    assert exported.details["format"] == "csv" and exported.details["rows"] == 1
    assert exported.details["action"] == "reads.access_refused" and exported.details["through_seq"] < exported.seq


def test_jsonl_export_holds_the_chain_in_order_with_its_seals(harness: Harness) -> None:
    _searches(harness)
    auditor = harness.signed_in("auditor", "lee")
    since, until = _period(harness)
    response = auditor.get("/api/v1/audit/export", params={"format": "jsonl", "since": since, "until": until})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["content-disposition"].endswith(f'filename="audit-log_{since}_to_{until}.jsonl"')
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))  # the whole chain so far, oldest first
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(lines))
    search = next(e for e in lines if e["action"] == "reads.search")
    assert search["plate_texts"] == {"plate": "7AB***3"} and search["justification"] == CONTEXT["justification"]
    (exported,) = _events(harness, "audit.export")
    assert exported.details["rows"] == len(lines) and exported.details["through_seq"] == lines[-1]["seq"]
    assert exported.seq > lines[-1]["seq"]  # the export is recorded, and not part of itself


def test_an_export_needs_a_bounded_period_a_known_format_and_the_permission(harness: Harness) -> None:
    auditor = harness.signed_in("auditor")
    no_period = auditor.get("/api/v1/audit/export", params={"format": "csv"})
    assert no_period.status_code == 400 and no_period.json()["detail"].startswith("since:")
    too_long = auditor.get("/api/v1/audit/export", params={"since": "2020-01-01", "until": "2026-01-01"})
    assert too_long.status_code == 400
    assert too_long.json()["detail"].startswith("until:") and "audit.export_max_days" in too_long.json()["detail"]
    bad_format = auditor.get("/api/v1/audit/export", params={"since": "2026-01-01", "format": "xlsx"})
    assert bad_format.status_code == 422 and "format" in bad_format.text
    officer = harness.signed_in("sworn_officer")
    refused = officer.get("/api/v1/audit/export", params={"since": "2026-01-01", "format": "csv"})
    assert refused.status_code == 403 and "audit.export" in refused.text
    assert _events(harness, "audit.export") == []
    roles = harness.settings.access.roles
    assert {r for r, c in roles.items() if "audit.export" in c.permissions} == {
        r for r, c in roles.items() if "audit.view" in c.permissions
    }


def test_the_page_exports_its_current_filters(harness: Harness) -> None:
    _searches(harness)
    auditor = harness.signed_in("auditor", "lee")
    since, until = _period(harness)
    page = auditor.get("/audit", params={"plate": "7abc123", "since": since, "until": until})
    for fmt in ("csv", "jsonl"):
        link = f'href="/audit/export?plate=7abc123&amp;since={since}&amp;until={until}&amp;format={fmt}"'
        assert link in page.text
    exported = auditor.get(
        "/audit/export", params={"plate": "7abc123", "since": since, "until": until, "format": "csv"}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(exported.text)))) == 1 + 2  # header, the search and the refusal
    refused = auditor.get("/audit/export", params={"plate": "7abc123", "format": "csv"})
    assert refused.status_code == 400 and "since:" in refused.text and "<form" in refused.text


class TestExportInSmallBatches:
    """A log larger than one batch streams whole, in order."""

    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str) -> Settings:
        audit = {"export_batch_size": 10}
        return load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, audit=audit)

    def test_every_event_of_the_period_is_exported(self, harness: Harness) -> None:
        officer = _searches(harness)
        for n in range(20):
            assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": f"7ABC{n:03d}"}).status_code == 200
        auditor = harness.signed_in("auditor", "lee")
        since, until = _period(harness)
        with harness.database.session() as session:
            expected = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert len(expected) > 2 * harness.settings.audit.export_batch_size
        response = auditor.get("/api/v1/audit/export", params={"format": "jsonl", "since": since, "until": until})
        assert [json.loads(line)["seq"] for line in response.text.splitlines()] == expected
        rows = list(csv.reader(io.StringIO(auditor.get("/audit/export", params={"since": since}).text)))
        assert [int(r[0]) for r in rows[1:]] == [*expected, expected[-1] + 1]  # now with the first export
