"""Chromium: the first sign-in enrols an authenticator from the QR page, later sign-ins ask for the TOTP code."""

from __future__ import annotations

import pyotp
import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server
from tests.conftest import PASSWORD, Harness

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _password(page, base: str, username: str) -> None:
    page.goto(f"{base}/account")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sign_in_with_totp_in_chromium(harness: Harness) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    harness.user("dana", "sworn_officer", enrolled=False)
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        _password(page, base, "dana")
        page.wait_for_url("**/login/enrol*")
        assert page.locator("figure.qr svg").is_visible()
        secret = page.locator("#totp-secret").inner_text()
        totp = pyotp.TOTP(secret)
        page.fill("input[name=code]", totp.now())
        page.click("form[action='/login/enrol'] button[type=submit]")
        page.wait_for_selector("ul.codes")
        assert page.locator("ul.codes li").count() == harness.settings.access.authentication.recovery_codes
        page.click("text=I have saved them, continue")
        page.wait_for_url(f"{base}/account")
        assert page.locator("h1").inner_text() == "Your account"

        page.click("header button[type=submit]")  # sign out
        page.wait_for_url("**/login")
        _password(page, base, "dana")
        page.wait_for_url("**/login/mfa*")
        page.fill("input[name=code]", "000000")
        page.click("form[action='/login/mfa'] button[type=submit]")
        assert "one-time code is wrong" in page.get_by_role("alert").inner_text()
        step = int(__import__("time").time()) // 30 + 1  # the enrolment used this step's code: take the next
        page.fill("input[name=code]", totp.at(step * 30))
        page.click("form[action='/login/mfa'] button[type=submit]")
        page.wait_for_url(f"{base}/account")
        assert "authenticator app since" in page.locator("dl").inner_text()
        browser.close()
