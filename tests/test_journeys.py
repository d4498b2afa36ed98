"""A day's work in Chromium for the roles beside the officer (issue 20): the Records Manager, a supervisor, the
auditor and the vendor. Each test is written as the day goes and asserts what that person must see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, fill_search, live_server, sign_in
from tests.conftest import CONTEXT, PASSWORD, Harness, make_read
from tests.hotlist_helpers import hotlist_with, ingest
from tests.sharing_helpers import agency_today

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@contextmanager
def _day(harness: Harness, username: str, role: str) -> Iterator[tuple[Any, str]]:
    """A signed-in Chromium page for a new account of ``role``, and the server's base URL."""
    from playwright.sync_api import sync_playwright

    harness.user(username, role)
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        sign_in(page, base, username, PASSWORD, harness.code)
        yield page, base
        browser.close()


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_the_records_managers_morning(harness: Harness, tmp_path: Any) -> None:
    harness.user("newclerk", "records", approved=False)  # requested yesterday by the administrator
    _, key = harness.camera("North")
    ingest(harness, key, make_read("3LEAD33", captured_at=_ago(12)))
    hotlist_with(harness, "", name="NCIC stolen", kind="stolen_vehicle")
    extract = tmp_path / "extract.csv"
    extract.write_text("PlateNumber,State,Make\n3LEAD33,CA,HOND\n9FRSH99,CA,TOYT\n")
    with _day(harness, "pat", "records_manager") as (page, base):
        page.click("header nav >> text=Approvals")  # the approval queue is one click from anywhere
        page.click("button:has-text('Approve newclerk')")
        assert "Approved: newclerk is active." in page.locator("main").inner_text()

        page.click("header nav >> text=Hotlists")  # the morning extract: no category column at all
        page.select_option("#import-list", label="NCIC stolen")
        page.set_input_files("input[name=file]", str(extract))
        page.click("#import-form button[type=submit]")
        assert "Loaded 2 entries (full)" in page.locator("main").inner_text()

        harness.client.app.state.alerting.wait_history()  # the historical search after the import
        page.goto(f"{base}/alerts?source=historical")
        row = page.locator("tr.alert-row.historical").first
        assert "3LEAD33" in row.inner_text() and "historical" in row.inner_text()
        row.locator("input[name=alert_id]").check()
        page.fill("#close-leads input[name=reason]", "reviewed: the car was seen twelve days ago, no action now")
        page.click("#close-leads button[type=submit]")
        assert "Closed 1 leads." in page.locator("main").inner_text()


def test_a_supervisors_shift(harness: Harness) -> None:
    harness.user("rookie", "sworn_officer", approved=False)
    harness.user("newadmin", "alpr_admin", approved=False)
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,V123456789,HOND,CIV,GRY\n")
    _, key = harness.camera("Highland & 15th")
    with _day(harness, "sgt", "supervisor") as (page, base):
        page.click("header nav >> text=Approvals")
        text = page.locator("main").inner_text()
        assert "Approve rookie" in text and "Approve newadmin" not in text  # no role with more rights
        assert "which your role does not hold" in text

        page.goto(f"{base}/alerts")
        page.wait_for_selector("#live-status[data-state=live]")
        ingest(harness, key, make_read("5SOW350"))  # a live P1 hit during the shift
        banner = page.wait_for_selector("#live-banner.p1")
        assert "Verify before any action" in banner.inner_text()
        page.click("#live-banner .banner-link")
        page.wait_for_selector("#workflow")
        assert "its own reference, ALERT-" in page.locator("main").inner_text()

        page.goto(f"{base}/alerts/figures")
        assert "Misread rate per camera" in page.locator("main").inner_text()


def test_the_auditors_review(harness: Harness) -> None:
    _, key = harness.camera()
    ingest(harness, key, make_read("7ABC123"))
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).status_code == 200
    with _day(harness, "lee", "auditor") as (page, base):
        page.click("header nav >> text=Audit log")
        page.fill("input[name=case_number]", CONTEXT["case_number"])
        page.fill("input[name=plate]", "7abc123")
        page.click("form.filters button[type=submit]")
        table = page.locator("main table").first.inner_text()
        assert "reads.search" in table and "Plate: 7AB***3" in table  # labelled fields, the plate masked
        assert "7ABC123" not in table
        page.locator("main table details.reveal summary").first.click()  # reveal it, for a stated reason
        page.locator("main table details.reveal input[name=reason]").first.fill(
            "complaint 2026-17 says this search targeted a neighbour"
        )
        page.locator("main table details.reveal button").first.click()
        assert "7ABC123" in page.locator("main").inner_text() and "Recorded as event" in page.content()
        page.click("text=Back to the audit log")
        page.fill("input[name=since]", agency_today().isoformat())
        page.click("form.filters button[type=submit]")
        with page.expect_download() as download:
            page.click('.exports >> text="CSV"')
        saved = download.value.path()
        assert saved is not None and "reads.search" in Path(saved).read_text(encoding="utf-8")
        page.goto(f"{base}/reads/00000000-0000-4000-8000-000000000000")
        assert "does not grant" in page.locator("main").inner_text()  # no plate data for an auditor


def test_the_vendors_visit(harness: Harness) -> None:
    _, key = harness.camera("Marine Ave EB")
    ingest(harness, key, make_read("7ABC123"))
    with _day(harness, "tech", "vendor_maintenance") as (page, base):
        home = page.locator("main").inner_text()
        assert "System health" in home and "7ABC123" not in home
        page.click("header nav >> text=Cameras")
        cameras = page.locator("main").inner_text()
        assert "Marine Ave EB" in cameras and "active" in cameras
        page.click("header nav >> text=Server errors")
        assert page.url.endswith("/system/errors")
        page.goto(f"{base}/search")
        assert "does not grant" in page.locator("main").inner_text()


def test_a_records_clerks_request_from_a_detective(harness: Harness) -> None:
    _, key = harness.camera("North")
    ingest(harness, key, make_read("7ABC123", captured_at=_ago(2)), make_read("7ABC123", captured_at=_ago(1)))
    with _day(harness, "sam", "records") as (page, _base):
        page.click("header nav >> text=Search")
        fill_search(page, CONTEXT, "7ABC123")
        page.check("input[name=range][value='7d']")
        page.click("form.search button[type=submit]")
        page.wait_for_selector("section.results")
        assert "2 reads found" in page.locator("main").inner_text()
        assert "justification" not in page.url and "2026-001234" not in page.url  # nothing free in the address
        page.click("a:has-text('story') >> nth=0")
        page.wait_for_selector("h1 .plate")
        story = page.locator("main").inner_text()
        assert "Timeline" in story and "2 reads kept" in story
        assert page.locator("img.thumb").count() == 2


def test_the_administrators_day(harness: Harness) -> None:
    with _day(harness, "ada", "alpr_admin") as (page, base):
        page.click("header nav >> text=Users")
        page.fill("form[action='/users'] input[name=username]", "dana")
        page.fill("form[action='/users'] input[name=display_name]", "Officer Dana Reyes")
        page.select_option("form[action='/users'] select[name=role]", "sworn_officer")
        page.fill("form[action='/users'] input[name=password]", "correct horse battery staple 42")
        page.click("form[action='/users'] button[type=submit]")
        assert "Account dana created. It waits for approval" in page.locator("main").inner_text()

        page.click("header nav >> text=Cameras")
        page.fill("form[action='/cameras'] input[name=name]", "Rosecrans WB")
        page.click("form[action='/cameras'] button[type=submit]")
        text = page.locator("main").inner_text()
        assert "pkc_" in text and "Rosecrans WB" in text  # the key, shown this once
        page.goto(f"{base}/")
        silent = page.locator(".card", has_text="cameras silent").inner_text()
        assert silent.split()[0] == "0"  # a camera registered a minute ago is not silent yet
