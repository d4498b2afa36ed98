"""Sharing in Chromium (policy 462.7): Records enters an agency's written request with its document, the Records
Manager approves it, Records fulfils it, and the recipient downloads the package once, without an account."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.conftest import PASSWORD, Harness, make_read
from tests.hotlist_helpers import ingest
from tests.sharing_helpers import PDF

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def _local(delta_days: float, harness: Harness) -> str:
    return (datetime.now(UTC) + timedelta(days=delta_days)).astimezone(harness.settings.tz).strftime("%Y-%m-%dT%H:%M")


def _enter_request(clerk: Any, harness: Harness, document: Path) -> None:
    """Records adds the agency to the registry, then enters its written request with the document."""
    clerk.click("header nav >> text=Sharing")
    clerk.click("main >> text=Agency registry")
    clerk.fill("input[name=name]", "Hermosa Beach Police Department")
    clerk.select_option("select[name=kind]", "law_enforcement")
    clerk.select_option("select[name=jurisdiction]", "california")
    clerk.fill("input[name=ori]", "CA0191100")
    clerk.click("button:has-text('Add the agency')")
    assert "Agency saved." in clerk.locator("main").inner_text()

    clerk.click("main >> text=Agency requests")
    clerk.select_option("select[name=agency_id]", label="Hermosa Beach Police Department")
    clerk.fill("input[name=requester_name]", "Det. Maria Lopez")
    clerk.fill("input[name=requester_contact]", "mlopez@hbpd.example")
    clerk.fill("textarea[name=description]", "vehicle seen leaving an armed robbery on Pier Ave")
    clerk.fill("input[name=case_number]", "HB-26-0412")
    clerk.fill("input[name=legal_basis]", "Penal Code 211 investigation")
    clerk.fill("input[name=plates]", "6WEB001")
    clerk.fill("input[name=since]", _local(-1, harness))
    clerk.fill("input[name=until]", _local(0.5, harness))
    clerk.set_input_files("input[name=document]", str(document))
    clerk.click("button:has-text('Enter the request')")
    text = clerk.locator("main").inner_text()
    assert "Request entered" in text and "Waiting for the Records Manager" in text
    assert "You entered this request" not in text  # records holds no review right at all


def test_intake_review_approval_and_download_by_the_recipient(harness: Harness, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    _, key = harness.camera("Pier Ave")
    ingest(harness, key, make_read("6WEB001"), make_read("6WEB002"))
    harness.user("clerk", "records")
    harness.user("boss", "records_manager")
    document = tmp_path / "request.pdf"
    document.write_bytes(PDF)
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        clerk = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True).new_page()
        sign_in(clerk, base, "clerk", PASSWORD, harness.code)
        _enter_request(clerk, harness, document)
        request_url = clerk.url.split("?")[0]

        manager = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        sign_in(manager, base, "boss", PASSWORD, harness.code)
        manager.goto(request_url)
        manager.click("button:has-text('Approve the request')")
        assert "Request approved" in manager.locator("main").inner_text()

        clerk.goto(request_url)
        clerk.click("button:has-text('Package and issue the download link')")
        link = clerk.locator("#share-link").get_attribute("href")
        assert link and "/share/" in link

        recipient = browser.new_context(accept_downloads=True).new_page()  # no account, no cookies
        recipient.goto(link)
        assert "works once" in recipient.locator("main").inner_text()
        with recipient.expect_download() as caught:
            recipient.click("button:has-text('Download the package')")
        saved = tmp_path / "package.zip"
        caught.value.save_as(saved)
        with zipfile.ZipFile(saved) as archive:
            names = archive.namelist()
        assert any(n.endswith("/manifest.json") for n in names) and any(n.endswith("/reads.csv") for n in names)
        recipient.goto(link)
        assert "already used" in recipient.locator("main").inner_text()

        manager.goto(f"{base}/sharing/register")
        row = manager.locator("main table").nth(1).inner_text()
        assert "Hermosa Beach Police Department" in row and "boss" in row
        browser.close()
