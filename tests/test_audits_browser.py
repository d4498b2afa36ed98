"""The system audit pages in Chromium (issue 23): no serious or critical axe violation on the list, an audit under
review and its report; at a phone's width (390 px) nothing is wider than the screen, the report included (it is
printed on A4 and read on a phone), and each page has one main landmark; a refused review puts the
keyboard on the field it names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.audit_helpers import PERFORMER, Clock, accounts, clean_day, review_signed_off
from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.conftest import PASSWORD, Harness
from tests.test_accessibility import _axe_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_audit_pages_are_accessible_and_fit_a_phone(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    axe, executable = _axe_path(), chromium_path()
    accounts(harness)
    clock, today = Clock(monkeypatch), datetime.now(harness.settings.tz).date()
    clean_day(harness, clock, today - timedelta(days=1))
    review_signed_off(harness)
    api = harness.login(PERFORMER, TestClient(harness.client.app))
    now = datetime.now(UTC)
    body = {"period_from": (now - timedelta(days=2)).isoformat(), "period_to": now.isoformat()}
    audit_id = api.post("/api/v1/audits", json=body).json()["id"]
    assert api.post(f"/api/v1/audits/{audit_id}/run").status_code == 200
    found: list[str] = []
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(bypass_csp=True, viewport={"width": 390, "height": 844})
        sign_in(page, base, PERFORMER, PASSWORD, harness.code)
        for path in ("/", "/audits", f"/audits/{audit_id}", f"/audits/{audit_id}/report"):
            page.goto(f"{base}{path}")
            page.add_script_tag(path=str(axe))
            result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
            found += [
                f"{path}: {v['id']} ({v['impact']})"
                for v in json.loads(result)
                if v["impact"] in ("serious", "critical")
            ]
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{path} is {wide} px wide at 390 px"
            assert page.locator("main").count() == 1, f"{path} has no main landmark"
        page.goto(f"{base}/audits/{audit_id}")
        form = page.locator("form[action$='/sample/1']")
        form.locator("textarea[name=finding]").fill("ok")
        form.locator("input[value=supported]").check()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("#item-1-error").inner_text().startswith("finding:")
        focused = page.evaluate("document.activeElement && document.activeElement.name")
        assert focused == "finding"
        browser.close()
    assert not found, "\n".join(found)
