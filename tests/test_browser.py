"""Page tests in real Chromium: an officer signs in, is refused without a purpose, then searches and opens a read."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, fill_search, live_server
from tests.conftest import CONTEXT, PASSWORD, Harness, make_read

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_officer_search_flow_in_chromium(harness: Harness) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    _, key = harness.camera("Highland & 15th")
    harness.client.post(
        "/api/v1/reads",
        json={"reads": [make_read("7ABC123"), make_read("7ABC128")]},
        headers={"Authorization": f"Bearer {key}"},
    )
    harness.user("dana", "sworn_officer")
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/search")
        assert "/login" in page.url
        page.fill("input[name=username]", "dana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/login/mfa*")  # second factor: the code from the authenticator app
        page.fill("input[name=code]", harness.code("dana"))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/search")

        page.goto(f"{base}/search?plate=7ABC123")  # typed or bookmarked: shown, not run
        assert "has not run" in page.get_by_role("status").first.inner_text()
        page.eval_on_selector("form.search", "f => { f.noValidate = true; }")  # past the browser's own check
        page.click("form.search button[type=submit]")  # from the page itself, with no purpose: refused
        assert page.get_by_role("alert").first.inner_text().startswith("This search was refused")

        page.goto(f"{base}/search")
        fill_search(page, CONTEXT, "7ABC12*")
        page.click("form.search button[type=submit]")
        page.wait_for_selector("section.results")
        assert page.locator("section.results h2").inner_text() == "2 reads found"
        widths = page.eval_on_selector_all("img.thumb", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths == [120, 120]

        page.click("td.plate a >> nth=0")
        page.wait_for_selector("h1 .plate")
        assert page.locator("h1 .plate").inner_text() in {"7ABC123", "7ABC128"}
        assert page.eval_on_selector("img.crop", "i => i.naturalWidth") == 120
        browser.close()
