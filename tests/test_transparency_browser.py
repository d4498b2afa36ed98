"""The public face in Chromium (issue 24): axe-core finds no serious or critical violation on the policy, its
versions, the transparency page and the administrator's preview; on a phone (390 px) none of them scrolls
sideways; printed, the policy shows without the site's header, links and footer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platekeeper.config import Settings, load_settings
from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.conftest import FAST_HASH, PASSWORD, Harness
from tests.test_accessibility import _axe_path
from tests.test_transparency import _seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PUBLIC_PAGES = ["/policy", "/policy/versions", "/policy/versions/1", "/transparency", "/login"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        access=FAST_HASH,
        transparency={"published": True, "min_count": 3, "cache_minutes": 0},
    )


def _violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.add_script_tag(path=str(_axe_path()))
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    return [
        f"{v['id']} ({v['impact']}) at {'; '.join(n['target'][0] for n in v['nodes'][:3])}: {v['help']}"
        for v in json.loads(result)
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_public_pages_pass_axe_and_fit_a_phone(harness: Harness) -> None:
    from playwright.sync_api import sync_playwright

    _seed(harness)
    executable, found = chromium_path(), []
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for width in (1366, 390):
            page = browser.new_page(bypass_csp=True, viewport={"width": width, "height": 800})
            for path in PUBLIC_PAGES:
                assert page.goto(f"{base}{path}").status == 200, path
                found += [f"{path} at {width} px: {v}" for v in _violations(page)]
                wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
                if wide:
                    found.append(f"{path} at {width} px scrolls sideways")
            page.close()
        page = browser.new_page()
        page.goto(f"{base}/policy")
        page.emulate_media(media="print")  # the print stylesheet: the policy alone, no header, links or footer
        assert not page.locator("header.top").is_visible() and not page.locator("footer").is_visible()
        assert not page.locator(".policy-actions").is_visible() and page.locator("#retention-title").is_visible()
        page.close()
        harness.user("previewer", "alpr_admin")
        page = browser.new_page(bypass_csp=True)
        sign_in(page, base, "previewer", PASSWORD, harness.code)
        page.goto(f"{base}/transparency/preview")
        found += [f"/transparency/preview: {v}" for v in _violations(page)]
        browser.close()
    assert not found, "\n".join(found)
