"""The pages on the screens officers have (issue 20): a phone at 390 px and an in-car laptop at 1366 px show no
sideways scrolling, a result's plate is on screen without scrolling its table, a table that scrolls sideways is
reachable by keyboard, no audit log entry is taller than the screen, and the header stays within two rows on the
laptop."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.conftest import CONTEXT, PASSWORD, Harness, make_read
from tests.guard_helpers import plant_notices

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = """() => {
  const tops = [...document.querySelectorAll('header.top .brand, header.top nav a, header.top .signout button')]
    .map((e) => e.getBoundingClientRect().top).sort((a, b) => a - b);
  let rows = 0, last = -100;
  for (const top of tops) { if (top - last > 10) { rows += 1; last = top; } }
  return rows;
}"""
"""How many rows the header's brand, links and sign-out button stand in."""
PAGES = ["/", "/alerts", "/search", "/hotlists", "/cameras", "/users", "/users/approvals", "/audit", "/account"]
PAGES += ["/retention", "/holds", "/sharing", "/sharing/agencies", "/sharing/register", "/pra", "/notices", "/audits"]
WALL = "x" * 480  # one word a tired (or hostile) user typed: the page and the audit log must not widen for it
PAGES += [f"/search?{urlencode({**CONTEXT, 'plate': '7ABC123', 'justification': WALL})}"]
PAGES += [f"/search?{urlencode({**CONTEXT, 'plate': '7ABC123'})}"]
PLATE_SHOWN = (
    """() => [...document.querySelectorAll('td.plate')].every((c) => c.getBoundingClientRect().right <= innerWidth)"""
)
"""Whether every plate cell of a results table is on screen without scrolling the table sideways."""
UNREACHABLE = """() => [...document.querySelectorAll('main *')].filter((el) => {
  const style = getComputedStyle(el);
  const scrolls = ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
  return scrolls && el.tabIndex < 0 && !el.querySelector('a[href], button, input, select, textarea, [tabindex]');
}).map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))"""
"""Regions that scroll sideways but that a keyboard cannot reach (axe's scrollable-region-focusable)."""
TALLEST_ROW = """() => Math.max(0, ...[...document.querySelectorAll('table.audit tr')].map((r) => r.offsetHeight))"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_fits_a_phone_and_a_car_laptop(harness: Harness) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    _, key = harness.camera("Sepulveda & Rosecrans northbound, long name")
    harness.client.post(
        "/api/v1/reads", json={"reads": [make_read("7ABC123")]}, headers={"Authorization": f"Bearer {key}"}
    )
    harness.user("ada", "alpr_admin")  # the role with the longest navigation
    plant_notices(harness)  # the breach banner on every page, and the notices page with open notices
    run = harness.client.app.state.platekeeper.services.purger().run()  # its certificate is a page too
    pages = [*PAGES, f"/retention/purges/{run.id}/certificate"]
    refused = harness.signed_in("sworn_officer").get("/api/v1/reads", params={**CONTEXT, "justification": WALL})
    assert refused.status_code == 400  # recorded: the audit log's page shows it
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(page, base, "ada", PASSWORD, harness.code)
        problems = []
        for width in (390, 1366):
            page.set_viewport_size({"width": width, "height": 800})
            for path in pages:
                page.goto(f"{base}{path}")
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 1:
                    problems.append(f"{path[:60]} at {width} px scrolls sideways by {overflow} px")
                if not page.evaluate(PLATE_SHOWN):
                    problems.append(f"{path[:60]} at {width} px: a plate is off screen")
                if unreachable := page.evaluate(UNREACHABLE):
                    problems.append(f"{path[:60]} at {width} px: no keyboard reaches {', '.join(unreachable)}")
                if (tallest := page.evaluate(TALLEST_ROW)) > 800:
                    problems.append(f"{path[:60]} at {width} px: an audit log row is {tallest} px tall")
                if width == 1366:
                    rows = page.evaluate(ROWS)
                    if rows > 2:
                        problems.append(f"{path[:60]}: the header wraps into {rows} rows at 1366 px")
        browser.close()
    assert not problems, "\n".join(problems)
