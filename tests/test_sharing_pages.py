"""The sharing and PRA pages: forms with CSRF, bad input answered 4xx naming the field, and the documents."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import load_settings
from platekeeper.db import Database
from platekeeper.web.app import create_app
from tests.conftest import FAST_HASH, Harness, csrf_of, jpeg_bytes
from tests.sharing_helpers import PDF, agency, agency_today, submit


def _form(**overrides: str) -> dict[str, str]:
    return {
        "requester_name": "Det. Maria Lopez", "requester_contact": "mlopez@hbpd.example",
        "purpose": "criminal_investigation", "description": "vehicle seen leaving an armed robbery on Pier Ave",
        "case_number": "HB-26-0412", "legal_basis": "Penal Code 211 investigation", "plates": "6PAGE01",
        "since": "2026-12-01T08:00", "until": "2026-12-02T08:00", "received_on": agency_today().isoformat(),
        **overrides,
    }  # fmt: skip


def test_the_intake_form_names_the_field_and_checks_the_document(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    agency_id = agency(clerk)
    page = clerk.get("/sharing")
    assert page.status_code == 200 and "Enter a written request" in page.text
    token = csrf_of(page.text)
    form = _form(agency_id=str(agency_id), csrf_token=token)
    text_file = {"document": ("request.txt", b"not a request document", "text/plain")}
    refused = clerk.post("/sharing/requests", data=form, files=text_file)
    assert refused.status_code == 400 and "The written request: must be a PDF or an image" in refused.text
    bad_plate = clerk.post("/sharing/requests", data={**form, "plates": "6PA*"}, files={"document": ("r.pdf", PDF)})
    assert bad_plate.status_code == 400 and "Plates:" in bad_plate.text
    bad_time = clerk.post("/sharing/requests", data={**form, "since": "yesterday"}, files={"document": ("r.pdf", PDF)})
    assert bad_time.status_code == 400 and "From: not a date and time" in bad_time.text
    no_agency = clerk.post("/sharing/requests", data={**form, "agency_id": "x"}, files={"document": ("r.pdf", PDF)})
    assert no_agency.status_code == 400 and "Agency: choose an agency" in no_agency.text
    assert "agency_id:" not in no_agency.text
    forged = clerk.post("/sharing/requests", data={**form, "csrf_token": "wrong"}, files={"document": ("r.pdf", PDF)})
    assert forged.status_code == 403
    image = {"document": ("request.jpg", jpeg_bytes(), "image/jpeg")}
    entered = clerk.post("/sharing/requests", data=form, files=image, follow_redirects=False)
    assert entered.status_code == 303, entered.text
    detail = clerk.get(entered.headers["location"])
    assert "Waiting for the Records Manager" in detail.text
    assert "Law enforcement, California state or local" in detail.text  # the registry's words, not its codes
    assert "Investigation for prosecution" in detail.text and "criminal_investigation" not in detail.text
    request_id = entered.headers["location"].split("/")[-1].split("?")[0]
    document = clerk.get(f"/sharing/requests/{request_id}/document")
    assert document.status_code == 200 and document.content == jpeg_bytes()
    stored = list((harness.settings.data_dir / "sharing" / "documents").rglob("*"))
    assert any(p.is_file() and p.read_bytes() != jpeg_bytes() for p in stored)  # sealed at rest


def test_the_review_page_refuses_the_person_who_entered_it(harness: Harness) -> None:
    manager = harness.signed_in("records_manager", "boss")
    made = submit(manager, agency(manager))
    page = manager.get(f"/sharing/requests/{made['id']}")
    assert "You entered this request" in page.text
    own = manager.post(f"/sharing/requests/{made['id']}/review",
                       data={"csrf_token": csrf_of(page.text), "decision": "approve"})  # fmt: skip
    assert own.status_code == 403 and "never approved by the account that entered it" in own.text
    other = harness.signed_in("records_manager", "other")
    token = csrf_of(other.get(f"/sharing/requests/{made['id']}").text)
    odd = other.post(f"/sharing/requests/{made['id']}/review", data={"csrf_token": token, "decision": "maybe"})
    assert odd.status_code == 400 and "Decision: approve or deny" in odd.text
    assert other.get("/sharing/requests/999999").status_code == 404


def test_the_pra_pages_show_the_deadline_and_take_each_step(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    page = clerk.get("/pra")
    token = csrf_of(page.text)
    form = {"csrf_token": token, "requester_name": "Jane Reporter", "requester_contact": "jane@news.example",
            "description": "ALPR reads of my own car last week", "plates": "7PRA001", "since": "2026-12-01T08:00",
            "until": "2026-12-02T08:00", "received_on": agency_today().isoformat()}  # fmt: skip
    bad = clerk.post("/pra", data={**form, "received_on": "someday"})
    assert bad.status_code == 400 and "Received on: not a date" in bad.text
    made = clerk.post("/pra", data=form, follow_redirects=False)
    assert made.status_code == 303
    detail = clerk.get(made.headers["location"])
    assert "days left" in detail.text and "Extend by 14 days" in detail.text
    base = made.headers["location"]
    short = clerk.post(f"{base}/extend", data={"csrf_token": token, "reason": "busy"})
    assert short.status_code == 400 and "Reason for the extension:" in short.text
    done = clerk.post(f"{base}/determination", data={"csrf_token": token, "determination": "no_records",
                      "response": "no reads of that plate in the period"})  # fmt: skip
    assert done.status_code == 200 and "No responsive records" in done.text
    again = clerk.post(f"{base}/determination", data={"csrf_token": token, "determination": "release",
                       "response": "records will be released redacted"})  # fmt: skip
    assert again.status_code == 409
    assert clerk.get("/pra/999999").status_code == 404
    assert harness.signed_in("sworn_officer").get("/pra").status_code == 403


def test_the_public_download_page_is_rate_limited_per_address(tmp_path, database_url: str) -> None:
    settings = load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH,
                             rate_limits={"share_download_per_address": "2/minute"})  # fmt: skip
    database = Database(settings.resolved_database_url)
    with TestClient(create_app(settings, database)) as client:
        answers = [client.get("/share/" + "x" * 43).status_code for _ in range(2)]
        answers.append(client.post("/share/" + "x" * 43).status_code)
    database.dispose()
    assert answers == [404, 404, 429]


def test_an_agency_is_changed_through_its_page_and_audited(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    agency_id = agency(clerk, partner_max_days=30)
    registry = clerk.get("/sharing/agencies")
    assert f'href="/sharing/agencies/{agency_id}"' in registry.text
    page = clerk.get(f"/sharing/agencies/{agency_id}")
    assert page.status_code == 200 and "Change the agency" in page.text and "CA0191100" in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "name": "Hermosa Beach Police Department", "kind": "law_enforcement",
            "jurisdiction": "california", "ori": "CA0191100", "address": "1315 Valley Dr, Hermosa Beach",
            "contacts": "Records: 310-555-0100"}  # fmt: skip
    bad = clerk.post(f"/sharing/agencies/{agency_id}", data={**form, "ori": "12"})
    assert bad.status_code == 400 and "ORI number: nine characters" in bad.text and 'value="12"' in bad.text
    odd = clerk.post(f"/sharing/agencies/{agency_id}", data={**form, "kind": "militia"})
    assert odd.status_code == 400 and "Type: one of" in odd.text
    assert clerk.post(f"/sharing/agencies/{agency_id}", data={**form, "csrf_token": "wrong"}).status_code == 403
    assert clerk.post("/sharing/agencies/999999", data=form).status_code == 404
    assert clerk.get("/sharing/agencies/999999").status_code == 404
    unchanged = clerk.get("/api/v1/sharing/agencies").json()
    assert [a["address"] for a in unchanged] == ["540 Pier Ave, Hermosa Beach"]
    saved = clerk.post(f"/sharing/agencies/{agency_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert "Agency changed." in clerk.get(saved.headers["location"]).text
    (row,) = clerk.get("/api/v1/sharing/agencies").json()
    assert row["address"] == "1315 Valley Dr, Hermosa Beach" and row["partner_max_days"] == 30
    with harness.database.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "sharing.agency")).all()
        assert events[-1].details["changes"] == {
            "address": ["540 Pier Ave, Hermosa Beach", "1315 Valley Dr, Hermosa Beach"]
        }
        assert events[-1].username == "clerk"
    assert harness.signed_in("sworn_officer").get(f"/sharing/agencies/{agency_id}").status_code == 403


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Pacific/Kiritimati"])
def test_received_on_starts_at_the_agencys_today_not_the_servers(tmp_path, database_url: str, zone: str) -> None:
    """The intake forms fill in today's date in the agency's time zone: a server on UTC filled in tomorrow's for
    eight hours of each Californian evening, and the clerk who kept it was told the date was in the future. One
    of these two zones (UTC-12, UTC+14) is on another date than UTC at every hour."""
    settings = load_settings(
        data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, agency={"timezone": zone}
    )
    database = Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    try:
        with TestClient(create_app(settings, database)) as client:
            clerk = Harness(settings=settings, database=database, client=client).signed_in("records", "clerk")
            today = datetime.now(ZoneInfo(zone)).date().isoformat()
            for path in ("/sharing", "/pra"):
                assert f'name="received_on" value="{today}"' in clerk.get(path).text, path
    finally:
        database.dispose()
