"""Keyboard navigation covers every action (issue 20): an officer's and an administrator's main work in Chromium
with Tab, Shift+Tab, Enter and Space only, never a mouse click. Every control the walk lands on must show where
the focus is (a solid outline of at least 2 px), and every action must complete."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server
from tests.conftest import CONTEXT, PASSWORD, Harness, make_read
from tests.hotlist_helpers import hotlist_with, ingest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

MAX_TABS = 150  # more stops than any page has: a control never reached within them is unreachable by Tab

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), name: el.getAttribute("name") || "",
          text: (el.innerText || el.value || "").trim(),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0,
          visible: el.matches(":focus-visible"),
          picker: !el.matches(":focus") && /^(date|time|datetime-local|month|week)$/.test(el.type || "")};
}"""


def _focused(page: Any) -> dict[str, Any] | None:
    return page.evaluate(FOCUSED)


def _visible_focus(page: Any) -> None:
    """The focused control is drawn with a focus outline a person can see."""
    el = _focused(page)
    assert el is not None, "nothing has the focus"
    if el["picker"]:
        return  # on a date field's own calendar button, which Chromium rings itself
    assert el["visible"] and el["outline"] == "solid" and el["width"] >= 2, f"focus not visible on {el}"


def tab_to(page: Any, selector: str, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab with ``back``) until the control matching ``selector`` has the focus, checking that each
    control passed on the way shows its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if _focused(page) is not None:
            _visible_focus(page)
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the keyboard on {page.url}")


def _choose(page: Any, selector: str, value: str) -> None:
    """Pick an option of a focused select with the arrow keys, as a keyboard user does."""
    tab_to(page, selector)
    for _ in range(30):
        if page.evaluate("s => document.querySelector(s).value", selector) == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} cannot be chosen in {selector} with the arrow keys")


def _type_into(page: Any, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def _sign_in(page: Any, base: str, harness: Harness, username: str) -> None:
    page.goto(f"{base}/login")
    _type_into(page, "input[name=username]", username)
    _type_into(page, "input[name=password]", PASSWORD)
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _type_into(page, "input[name=code]", harness.code(username))
    with page.expect_navigation(url=f"{base}/"):
        page.keyboard.press("Enter")


def _follow(page: Any, selector: str, key: str = "Enter", *, back: bool = False) -> None:
    """Move the focus to a link or button and press it; wait for the page it leads to."""
    tab_to(page, selector, back=back)
    with page.expect_navigation():
        page.keyboard.press(key)


@contextmanager
def _keyboard_day(harness: Harness, username: str, role: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    harness.user(username, role)
    with live_server(harness.client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        _sign_in(page, base, harness, username)
        yield page
        browser.close()


def _main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


def test_an_officers_shift_by_keyboard_alone(harness: Harness) -> None:
    _, key = harness.camera("Highland & 15th")
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,V123456789,HOND,CIV,GRY\n")
    ingest(harness, key, make_read("7ABC123"), make_read("5SOW350"))  # a search's read, and a live P1 hit
    with _keyboard_day(harness, "dana", "sworn_officer") as page:
        page.keyboard.press("Tab")  # the first stop skips the header's links
        assert _focused(page)["text"] == "Skip to main content"
        _visible_focus(page)
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        _follow(page, "header nav a[href='/search']", back=True)  # back up into the header
        _choose(page, "select[name=purpose]", CONTEXT["purpose"])  # state the purpose and the case
        _type_into(page, "input[name=case_number]", CONTEXT["case_number"])
        _type_into(page, "input[name=justification]", CONTEXT["justification"])
        _type_into(page, "input[name=plate]", "7ABC123")
        _follow(page, "form.search button[type=submit]")
        assert "1 read found" in _main_text(page)

        _follow(page, "section.results td.plate a[href^='/reads/']")  # open the read
        assert page.locator("h1 .plate").inner_text() == "7ABC123"

        _follow(page, "header nav a[href='/alerts']")
        _follow(page, "#alert-rows td.plate a")
        assert "5SOW350" in page.locator("h1").inner_text()
        _follow(page, "#acknowledge")
        tab_to(page, "input[name=result][value=match]")
        page.keyboard.press("Space")
        tab_to(page, "input[name=attested]")
        page.keyboard.press("Space")
        _follow(page, "#visual-submit", "Space")
        _choose(page, "select[name=result]", "confirmed")
        _type_into(page, "input[name=reference]", "CL-4471")
        _follow(page, "#clets-submit")
        _type_into(page, "input[name=notes]", "vehicle recovered at the scene, owner told")
        _follow(page, "button[name=disposition][value=action_taken]")
        text = _main_text(page)
        assert "Closed: action taken." in text and "vehicle recovered at the scene" in text
        assert "ref CL-4471" in text


def test_an_administrator_approves_an_account_by_keyboard_alone(harness: Harness) -> None:
    harness.user("rookie", "sworn_officer", approved=False)
    with _keyboard_day(harness, "ada", "alpr_admin") as page:
        _follow(page, "header nav a[href='/users']")
        tab_to(page, "main form[action$='/approve'] button")
        assert _focused(page)["text"] == "Approve rookie"  # the button names the account it approves
        with page.expect_navigation():
            page.keyboard.press("Enter")
        text = _main_text(page)
        assert "Approved: the account is active." in text and text.startswith("Rookie (rookie)")
