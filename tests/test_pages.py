"""The pages an officer, an administrator and an auditor use, through real HTTP."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from tests.conftest import CONTEXT, Harness, make_read


def _upload(harness: Harness, *plates: str) -> None:
    _, key = harness.camera("Highland & 15th")
    harness.client.post(
        "/api/v1/reads",
        json={"reads": [make_read(p) for p in plates]},
        headers={"Authorization": f"Bearer {key}"},
    )


def test_search_page_refuses_without_purpose_and_shows_results_with_one(harness: Harness) -> None:
    _upload(harness, "7ABC123", "7ABC124")
    officer = harness.signed_in("sworn_officer")
    form = officer.get("/search")
    assert form.status_code == 200 and "Why are you looking?" in form.text
    refused = officer.get("/search", params={"plate": "7ABC123"})
    assert refused.status_code == 400
    assert "This search was refused" in refused.text and "Purpose: missing" in refused.text
    found = officer.get("/search", params={**CONTEXT, "plate": "7ABC12?"})
    assert found.status_code == 200
    assert "2 reads found" in found.text
    assert found.text.count('src="data:image/jpeg;base64,') == 2
    assert "Highland &amp; 15th" in found.text


def test_read_page_uses_the_stated_context_and_is_audited(harness: Harness) -> None:
    _upload(harness, "5SOW350")
    officer = harness.signed_in("sworn_officer")
    cold = officer.get("/search")
    assert cold.status_code == 200
    results = officer.get("/search", params={**CONTEXT, "plate": "5SOW350"})
    read_id = re.search(r'href="/reads/([0-9a-f-]{36})[?"]', results.text).group(1)
    detail = officer.get(f"/reads/{read_id}")  # the context stated for the search carries over
    assert detail.status_code == 200 and "5SOW350" in detail.text and "Plate crop" in detail.text
    with harness.database.session() as session:
        view = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.view")).one()
    assert view.case_number == CONTEXT["case_number"] and view.details["read_id"] == read_id


def test_read_page_without_context_asks_for_it(harness: Harness) -> None:
    _upload(harness, "5SOW350")
    officer = harness.signed_in("sworn_officer")
    page = officer.get("/reads/00000000-0000-4000-8000-000000000000")
    assert page.status_code == 400 and "State the purpose first" in page.text
    missing = officer.get("/reads/00000000-0000-4000-8000-000000000000", params=CONTEXT)
    assert missing.status_code == 404
    assert officer.get("/reads/not-a-uuid").status_code == 404  # no read has such an id: no such page


def test_audit_page_filters_and_is_itself_audited(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    harness.login("dana", TestClient(harness.client.app))
    auditor = harness.signed_in("auditor", "lee")
    page = auditor.get("/audit", params={"username": "dana", "action": "auth.sign_in"})
    assert page.status_code == 200
    assert "1 event" in page.text and "dana" in page.text
    bad = auditor.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since: not a date" in bad.text
    with harness.database.session() as session:
        views = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.view")).all()
    assert views[-1].username == "lee" and views[-1].details["username"] == "dana"
    api = auditor.get("/api/v1/audit/events", params={"action": "auth.sign_in", "username": "dana"}).json()
    assert api["total"] == 1 and api["events"][0]["organization"] == "EXPD"


def test_verify_button(harness: Harness) -> None:
    auditor = harness.signed_in("auditor")
    token = re.search(r'name="csrf_token" value="([^"]+)"', auditor.get("/audit").text).group(1)
    result = auditor.post("/audit/verify", data={"csrf_token": token})
    assert result.status_code == 200 and "Intact" in result.text


def test_admin_registers_a_camera_and_sees_its_key_once(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/cameras").text).group(1)
    created = admin.post("/cameras", data={"csrf_token": token, "name": "Marine Ave EB", "kind": "fixed"})
    key = re.search(r"(pkc_[A-Za-z0-9_-]+)", created.text).group(1)
    assert (
        harness.client.post(
            "/api/v1/reads", json={"reads": [make_read()]}, headers={"Authorization": f"Bearer {key}"}
        ).json()["stored"]
        == 1
    )
    assert key not in admin.get("/cameras").text
    bad = admin.post("/cameras", data={"csrf_token": token, "name": "Marine Ave EB", "kind": "fixed"})
    assert bad.status_code == 400 and "already exists" in bad.text


def test_admin_creates_a_user_from_the_page(harness: Harness) -> None:
    admin = harness.signed_in("alpr_admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/users").text).group(1)
    account = {"csrf_token": token, "username": "newbie", "display_name": "New", "role": "records"}
    weak = admin.post("/users", data={**account, "password": "short"})
    assert weak.status_code == 400 and "at least 12 characters" in weak.text
    made = admin.post("/users", data={**account, "password": "a-long-enough-password"})
    assert made.status_code == 200 and "Account <b>newbie</b> created" in made.text


def test_vendor_sees_cameras_but_no_search(harness: Harness) -> None:
    vendor = harness.signed_in("vendor_maintenance")
    home = vendor.get("/")
    assert 'href="/search"' not in home.text and 'href="/cameras"' in home.text
    assert vendor.get("/cameras").status_code == 200
    assert vendor.get("/search").status_code == 403


def test_system_health_has_no_plate_data(harness: Harness) -> None:
    _upload(harness, "5SOW350")
    vendor = harness.signed_in("vendor_maintenance")
    health = vendor.get("/api/v1/system/health")
    assert health.status_code == 200
    body = health.json()
    assert body["reads"]["total"] == 1 and body["cameras"][0]["name"] == "Highland & 15th"
    assert "5SOW350" not in health.text
    assert "System health" in vendor.get("/").text
    assert harness.signed_in("sworn_officer").get("/api/v1/system/health").status_code == 403


def test_admin_deactivates_a_camera_from_the_page(harness: Harness) -> None:
    camera_id, key = harness.camera("Old pole")
    admin = harness.signed_in("alpr_admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/cameras").text).group(1)
    page = admin.post(f"/cameras/{camera_id}/deactivate", data={"csrf_token": token})
    assert page.status_code == 200 and "inactive" in page.text
    response = harness.client.post(
        "/api/v1/reads", json={"reads": [make_read()]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 401
    assert admin.post("/cameras/999/deactivate", data={"csrf_token": token}).status_code == 404


def test_an_address_that_is_no_page_says_so_plainly(harness: Harness) -> None:
    """The router's bare 'Not Found' and 'Method Not Allowed' become sentences on pages; the API keeps them."""
    auditor = harness.signed_in("auditor")
    opened = auditor.get("/audit/verify")  # a form's action (POST), opened as a page, e.g. from a bookmark
    assert opened.status_code == 405
    assert "a form&#39;s action, not a page to open" in opened.text and "Method Not Allowed" not in opened.text
    nowhere = auditor.get("/no-such-page")
    assert nowhere.status_code == 404 and "There is no page at this address" in nowhere.text
    api = auditor.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    own = auditor.post("/audit/verify", data={})  # a route's own message stays as it is
    assert own.status_code == 403 and "the form has expired or did not come from this site" in own.text


def test_a_link_from_another_site_does_not_search_under_the_remembered_case(harness: Harness) -> None:
    """A cross-site link to /search?plate=... ran an audited search under the officer's last case: now it shows
    the filled-in form, searches nothing and records nothing; the officer's own pages still reuse the context."""
    _upload(harness, "5SOW350")
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/search", params={**CONTEXT, "plate": "7ABC*"}).status_code == 200  # the context is stated
    searches = _count(harness, "reads.search")
    for site in ("cross-site", "same-site", "none"):
        linked = officer.get("/search", params={"plate": "5SOW350"}, headers={"Sec-Fetch-Site": site})
        assert linked.status_code == 200 and "has not run" in linked.text, site
        assert "reads found" not in linked.text and 'value="5SOW350"' in linked.text
        assert f'value="{CONTEXT["case_number"]}"' not in linked.text  # the remembered case is not offered
    no_header = TestClient(harness.client.app, cookies=officer.cookies)
    assert "has not run" in no_header.get("/search", params={"plate": "5SOW350"}).text
    assert _count(harness, "reads.search") == searches and _count(harness, "reads.access_refused") == 0
    own = officer.get("/search", params={"plate": "5SOW350"})  # from the officer's own page: reused
    assert own.status_code == 200 and "1 read found" in own.text
    assert _count(harness, "reads.search") == searches + 1
    read_id = re.search(r'href="/reads/([0-9a-f-]{36})[?"]', own.text).group(1)
    foreign = officer.get(f"/reads/{read_id}", headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign.status_code == 400 and "State the purpose first" in foreign.text
    assert _count(harness, "reads.view") == 0


def _count(harness: Harness, action: str) -> int:
    with harness.database.session() as session:
        return len(session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())
