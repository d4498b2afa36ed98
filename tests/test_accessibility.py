"""Accessibility: axe-core (from the npm registry, fetched by `make axe`, which `make test` runs) checks every page
each role reaches in Chromium; no serious or critical violation may remain (issue 20)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.conftest import CONTEXT, PASSWORD, Harness, make_read
from tests.guard_helpers import plant_notices
from tests.hotlist_helpers import hotlist_with, ingest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(os.environ.get("PLATEKEEPER_AXE", Path(__file__).parent.parent / ".venv" / "axe" / "axe.min.js"))
ROLE_PAGES = {
    "sworn_officer": ["/", "/search", "/alerts", "/hotlists", "/account"],
    "alpr_admin": [
        "/",
        "/users",
        "/cameras",
        "/audit",
        "/reviews/accounts",
        "/system/errors",
        "/alerts/figures",
        "/retention",
        "/notices",
        "/audits",
    ],
    "supervisor": ["/", "/notices"],
    "records_manager": [
        "/users/approvals",
        "/notices",
        "/hotlists",
        "/holds",
        "/sharing",
        "/sharing/agencies",
        "/sharing/register",
        "/pra",
    ],
    "auditor": ["/audit", "/reviews/accounts", "/sharing/register", "/audits"],
    "partner": ["/partner"],
}


def _axe_path() -> Path:
    if not AXE.is_file():
        message = f"axe-core is not installed at {AXE} (make axe, or make test, fetches it from the npm registry)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return AXE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_serious_accessibility_violation_on_any_page(harness: Harness) -> None:
    from playwright.sync_api import sync_playwright

    axe, executable = _axe_path(), chromium_path()
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,HOND,CIV,GRY\n")
    _, key = harness.camera("North")
    ingest(harness, key, make_read("5SOW350"))
    plant_notices(harness)  # a guard's notice and a breach notice: the notices page and every page's banner
    searched = harness.signed_in("sworn_officer").get("/api/v1/reads", params={**CONTEXT, "plate": "5SOW350"})
    assert searched.status_code == 200  # the auditor's log then shows a masked plate with its reveal form
    found: list[str] = []
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for role, paths in ROLE_PAGES.items():
            name = f"a11y{role.replace('_', '')[:10]}"
            harness.user(name, role)
            page = browser.new_page(bypass_csp=True)  # lets the test inject axe; the app keeps its CSP
            sign_in(page, base, name, PASSWORD, harness.code)
            alert = page.locator("a[href^='/alerts/']").first if role == "sworn_officer" else None
            for path in [*paths, *(["/alerts/1"] if alert is not None else [])]:
                page.goto(f"{base}{path}")
                page.add_script_tag(path=str(axe))
                result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
                for v in json.loads(result):
                    if v["impact"] in ("serious", "critical"):
                        where = "; ".join(n["target"][0] for n in v["nodes"][:3])
                        found.append(f"{role} {path}: {v['id']} ({v['impact']}) at {where}: {v['help']}")
            page.close()
        browser.close()
    assert not found, "\n".join(found)
