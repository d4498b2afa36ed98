"""Chromium: an alert arrives live on the dashboard; the officer verifies it; enforcement stays disabled until both
the visual match and the CLETS confirmation are recorded (policy 462.8)."""

from __future__ import annotations

import base64

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.conftest import PASSWORD, Harness, jpeg_bytes
from tests.hotlist_helpers import hotlist_with, ingest, make_read

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_verification_flow_in_chromium(harness: Harness) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen vehicle,,HOND,CIV,GRY\n")
    _, key = harness.camera("Highland & 15th")
    harness.user("dana", "sworn_officer")
    overview = {"base64": base64.b64encode(jpeg_bytes((640, 360), (90, 90, 90))).decode()}
    read = make_read("5SOW35O", overview_image=overview, candidates=[{"text": "5SOW750", "confidence": 0.2}])
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        sign_in(page, base, "dana", PASSWORD, harness.code, "/alerts")
        page.wait_for_selector("#live-status[data-state=live]")

        ingest(harness, key, read)  # arrives over Server-Sent Events, no reload
        row = page.wait_for_selector("tr.alert-row.fresh")  # Playwright's default 30 s: CI may be slow
        assert "5SOW35O" in row.inner_text() and "confusable" in row.inner_text()
        banner = page.wait_for_selector("#live-banner.p1")  # a live P1 hit: the red banner, not a green row
        assert "P1 Stolen vehicle: 5SOW35O" in banner.inner_text() and banner.is_visible()
        assert page.eval_on_selector("#live-banner", "b => getComputedStyle(b).backgroundColor") == "rgb(185, 28, 28)"

        page.click("tr.alert-row.fresh td.plate a")  # straight to the alert: it carries its own purpose
        page.wait_for_selector("#workflow")
        assert "its own reference, ALERT-" in page.locator("main").inner_text()
        assert page.eval_on_selector("img.crop", "i => i.naturalWidth") == 120
        assert page.eval_on_selector("img.overview", "i => i.naturalWidth") == 640
        assert page.locator("#read-chars .ch.confusable").count() == 1  # the O read where the entry has 0
        assert "5SOW750" in page.locator(".compare").inner_text()  # the OCR alternate is shown
        assert "GRY HOND CIV" in page.locator(".vehicle").inner_text()
        assert page.locator("button[value=action_taken]").count() == 0  # nothing to dispose before acknowledging

        page.click("#acknowledge")
        enforce = page.locator("button[value=action_taken]")
        enforce.wait_for()
        assert enforce.is_disabled()
        assert "visual check" in page.locator("#why-action_taken").inner_text()
        assert "CLETS" in page.locator("#why-action_taken").inner_text()
        assert page.locator("button[value=misread]").is_enabled()

        page.check("input[name=result][value=match]")
        page.check("input[name=attested]")
        page.click("#visual-submit")
        page.wait_for_selector("#clets-submit")
        assert page.locator("button[value=action_taken]").is_disabled()
        why = page.locator("#why-action_taken").inner_text()
        assert "CLETS" in why and "visual check" not in why

        page.select_option("select[name=result]", "confirmed")
        page.fill("input[name=reference]", "CL-20261128-0042")
        page.click("#clets-submit")
        page.wait_for_selector("button[value=action_taken]:enabled")
        assert page.locator("#why-action_taken").count() == 0
        page.click("button[value=action_taken]")
        page.wait_for_selector("text=Closed: action taken")
        browser.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_alert_raised_before_the_live_feed_connects_appears(harness: Harness) -> None:
    """The dashboard's feed starts from the newest alert it rendered, so one raised between the render and the
    EventSource connecting still appears, without a reload."""
    from playwright.sync_api import Route, sync_playwright

    executable = chromium_path()
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen vehicle,,HOND,CIV,GRY\n")
    _, key = harness.camera("Highland & 15th")
    harness.user("dana", "sworn_officer")
    ingest(harness, key, make_read("5SOW350"))  # on the dashboard when it is rendered
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        sign_in(page, base, "dana", PASSWORD, harness.code)
        page.goto(f"{base}/alerts")
        page.wait_for_selector("#live-status[data-state=live]")

        held: list[Route] = []
        page.route("**/static/alerts.js", lambda route: held.append(route))  # the feed waits until we let it go
        page.reload(wait_until="commit")
        page.wait_for_selector("#alert-rows tr.alert-row")
        for _ in range(600):  # up to 30 s
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the dashboard asked for its script"
        ingest(harness, key, make_read("5SOW35O"))  # after the render, before the feed connects
        held[0].continue_()
        row = page.wait_for_selector("tr.alert-row.fresh")  # Playwright's default 30 s: CI may be slow
        assert "5SOW35O" in row.inner_text() and "confusable" in row.inner_text()
        page.wait_for_selector("#live-status[data-state=live]")
        assert page.locator("tr.alert-row").count() == 2
        browser.close()
