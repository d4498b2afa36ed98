"""The defects that stopped a department on its first day (issue 20), each reproduced through the real app."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from platekeeper.access.models import User
from platekeeper.alerts.models import Alert
from platekeeper.audit.models import AuditEvent
from platekeeper.cameras.models import Camera
from platekeeper.db import utcnow
from platekeeper.hotlists.models import HotlistEntry
from platekeeper.reads.images import ImageStore
from platekeeper.reads.ingest import ingest_batch
from platekeeper.reads.models import PlateRead
from tests.conftest import CONTEXT, Harness, shown_details
from tests.hotlist_helpers import hotlist_with, ingest, load, make_list, make_read
from tests.test_cli import _cli

PLAIN_CSV = "PlateNumber,State,Make\n5SOW350,CA,HOND\n7ABC123,CA,TOYT\n"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _kinds(harness: Harness, hotlist_id: int) -> list[tuple[str, str]]:
    with harness.database.session() as session:
        rows = session.execute(
            select(HotlistEntry.plate, HotlistEntry.kind).where(HotlistEntry.hotlist_id == hotlist_id)
        )
        return sorted((plate, kind) for plate, kind in rows)


def test_a_file_without_a_category_takes_its_lists_kind_through_the_api_and_the_page(harness: Harness) -> None:
    manager = harness.signed_in("records_manager")
    stolen = make_list(manager, "NCIC stolen", "stolen_vehicle")
    response = load(harness, manager, stolen, PLAIN_CSV)
    assert response.status_code == 200, response.text
    assert response.json()["loaded"] == 2
    assert _kinds(harness, stolen) == [("5SOW350", "stolen_vehicle"), ("7ABC123", "stolen_vehicle")]
    warrants = make_list(manager, "Warrants", "warrant")
    token = _csrf(manager.get("/hotlists").text)
    page = manager.post(
        "/hotlists/import",
        data={"csrf_token": token, "hotlist_id": str(warrants), "mode": "full", "format": "csv", "delimiter": ","},
        files={"file": ("w.csv", PLAIN_CSV, "text/csv")},
    )
    assert page.status_code == 200 and "Loaded 2 entries (full)" in page.text, page.text
    assert {kind for _, kind in _kinds(harness, warrants)} == {"warrant"}
    explicit = load(harness, manager, stolen, PLAIN_CSV, default_kind="stolen_plate")  # a stated default still wins
    assert explicit.status_code == 200 and {k for _, k in _kinds(harness, stolen)} == {"stolen_plate"}
    for bad in ("bogus", "immigration_violator"):  # a stated default is checked like a row's category
        refused = load(harness, manager, stolen, PLAIN_CSV, default_kind=bad)
        assert refused.status_code == 400 and refused.json()["detail"].startswith("default_kind:"), refused.text
    assert {k for _, k in _kinds(harness, stolen)} == {"stolen_plate"}


def test_the_readmes_import_command_loads_a_plain_extract(tmp_path: Path, database_url: str) -> None:
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    created = _cli(
        tmp_path, database_url, "hotlists", "create", "NCIC stolen", "--kind", "stolen_vehicle", "--source", "CLETS"
    )
    assert created.returncode == 0, created.stderr
    (tmp_path / "extract.csv").write_text(PLAIN_CSV)
    loaded = _cli(tmp_path, database_url, "hotlists", "import", "extract.csv", "--list", "NCIC stolen")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "2" in loaded.stdout


def test_the_records_manager_approves_accounts_from_the_navigation(harness: Harness) -> None:
    clerk = harness.user("clerk", "records", approved=False)
    harness.user("boss", "alpr_admin", approved=False)  # a role with more rights than a Records Manager holds
    manager = harness.signed_in("records_manager")
    home = manager.get("/")
    assert 'href="/users/approvals"' in home.text, "no approval queue in the Records Manager's navigation"
    queue = manager.get("/users/approvals")
    assert queue.status_code == 200 and "clerk" in queue.text and "boss" in queue.text
    assert "which your role does not hold" in queue.text  # why boss waits for someone else, in words
    assert queue.text.count('action="/users/') == 1  # one Approve button: clerk's
    clerk_id = re.search(r'action="/users/(\d+)/approve"', queue.text).group(1)  # type: ignore[union-attr]
    approved = manager.post(f"/users/{clerk_id}/approve", data={"csrf_token": _csrf(queue.text)})
    assert approved.status_code == 200 and "Approved: clerk is active." in approved.text
    assert "clerk" not in approved.text.split("Approved: clerk is active.")[1]  # gone from the queue
    with harness.database.session() as session:
        assert session.scalars(select(User.status).where(User.username == clerk)).one() == "active"
    admin = harness.signed_in("alpr_admin")
    assert 'href="/users"' in admin.get("/").text  # an administrator's queue is on Users, one click away
    assert "Waiting for approval" in admin.get("/users").text
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/users/approvals").status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "advice"),
    [
        ("case_number", "12345", "2026-001234"),
        ("case_number", "2026-1234", "2026-001234"),
        ("case_number", "ABCD99", "2026-001234"),
        ("case_number", "0000-000000", "2026-001234"),
        ("case_number", "2026-000000", "2026-001234"),
        ("justification", "aaaaaaaaaaaaaaaaaaaaaaaa", "the same letter"),
        ("justification", "aaaa bbbb cccc dddd", "the same letter"),
        ("justification", "stolen stolen stolen stolen", "three different words"),
        ("justification", "2026 0000 1111 2222", "three different words"),
    ],
)
def test_loose_case_numbers_and_justifications_are_refused_with_advice(
    harness: Harness, field: str, value: str, advice: str
) -> None:
    officer = harness.signed_in("sworn_officer")
    response = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123", field: value})
    assert response.status_code == 400, response.text
    problems = response.json()["problems"]
    assert set(problems) == {field} and advice in problems[field]
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).status_code == 200


def test_every_page_has_a_tab_icon_and_the_vendor_reaches_server_errors(harness: Harness) -> None:
    icon = harness.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    vendor = harness.signed_in("vendor_maintenance")
    home = vendor.get("/")
    assert 'rel="icon"' in home.text and 'href="/system/errors"' in home.text
    assert vendor.get("/system/errors").status_code == 200
    assert 'href="/system/errors"' not in harness.signed_in("sworn_officer").get("/").text


def test_a_closed_alert_shows_its_disposition_notes(harness: Harness) -> None:
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,V123456789,HOND,CIV,GRY\n")
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350"))
    officer = harness.signed_in("sworn_officer")
    alert_id = officer.get("/api/v1/alerts").json()["alerts"][0]["id"]
    for step, body in [
        ("acknowledge", None),
        ("visual-check", {"result": "vehicle_mismatch", "attested": True}),
        ("disposition", {"disposition": "misread", "notes": "a white van, not the grey Civic on the entry"}),
    ]:
        response = officer.post(f"/api/v1/alerts/{alert_id}/{step}", json=body)
        assert response.status_code == 200, response.text
    page = officer.get(f"/alerts/{alert_id}", params=CONTEXT)
    assert page.status_code == 200 and "a white van, not the grey Civic on the entry" in page.text


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("read", "no-such-image.jpg"), "no-such-image.jpg"),
        (("serve", "--port", "99999"), "--port"),
        (("audit", "verify", "--checkpoints", "no-such-file"), "--checkpoints"),
    ],
)
def test_typing_errors_on_the_command_line_exit_2(
    tmp_path: Path, database_url: str, args: tuple[str, ...], named: str
) -> None:
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    result = _cli(tmp_path, database_url, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr


def test_demo_training_is_marked_wherever_it_shows(tmp_path: Path, database_url: str) -> None:
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    seeded = _cli(tmp_path, database_url, "demo", "--reads", "5")
    assert seeded.returncode == 0, seeded.stderr
    assert "the administrator included, holds DEMO training records" in seeded.stdout
    listed = _cli(tmp_path, database_url, "users", "training", "list", "officer")
    assert listed.returncode == 0 and "DEMO record: no real training took place" in listed.stdout


def test_cameras_show_their_last_upload_and_fall_silent(harness: Harness) -> None:
    north, _ = harness.camera("North")
    south, _ = harness.camera("South")
    with harness.database.session() as session:  # as the demo stores reads: straight through the ingest service
        camera = session.get_one(Camera, north)
        ingest_batch(session, harness.settings, ImageStore.for_settings(harness.settings), camera,
                     {"reads": [make_read("4HEALTH")]})  # fmt: skip
    with harness.database.session() as session:
        assert session.get_one(Camera, north).last_seen_at is not None
        two_hours_ago = utcnow() - timedelta(hours=2)
        session.execute(update(Camera).where(Camera.id == south).values(created_at=two_hours_ago, last_seen_at=None))
    admin = harness.signed_in("alpr_admin")
    states = {c["name"]: c["state"] for c in admin.get("/api/v1/cameras").json()}
    assert states == {"North": "active", "South": "silent"}
    page = admin.get("/cameras").text
    assert "silent" in page.split("South")[1].split("</tr>")[0] and "never" not in page.split("North")[1][:400]
    home = admin.get("/").text
    assert "1 camera silent" in home and "South" in home


def test_alert_work_is_filed_under_the_alerts_own_purpose_and_reference(harness: Harness) -> None:
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,V123456789,HOND,CIV,GRY\n")
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350"))
    officer = harness.signed_in("sworn_officer")
    searched = officer.get("/search", params={**CONTEXT, "plate": "5SOW350"})  # a burglary search first
    assert searched.status_code == 200
    alert_id = officer.get("/api/v1/alerts").json()["alerts"][0]["id"]
    page = officer.get(f"/alerts/{alert_id}")  # no purpose form: the alert carries its own
    assert page.status_code == 200 and "Acknowledge" in page.text
    assert CONTEXT["case_number"] not in page.text and CONTEXT["justification"] not in page.text
    detail = officer.get(f"/api/v1/alerts/{alert_id}")
    assert detail.status_code == 200, detail.text
    crop = officer.get(detail.json()["read"]["images"]["crop"])
    assert crop.status_code == 200 and crop.headers["content-type"].startswith("image/")
    for step, body in [("acknowledge", None), ("visual-check", {"result": "misread", "attested": True})]:
        assert officer.post(f"/api/v1/alerts/{alert_id}/{step}", json=body).status_code == 200
    assert officer.post(f"/api/v1/alerts/{alert_id}/disposition", json={"disposition": "misread"}).status_code == 200
    with harness.database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("alerts.%")).where(AuditEvent.username.is_not(None))
        ).all()
        reads_under_alert = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("reads.%"), AuditEvent.case_number.like("ALERT-%"))
        ).all()
    worked = [e for e in events if e.action != "alerts.dashboard"]
    assert {e.action for e in worked} >= {"alerts.view", "alerts.acknowledge", "alerts.visual_check"}
    for event in worked:
        assert event.purpose == "criminal_investigation", event.action  # the stolen-vehicle kind's purpose
        assert event.case_number == f"ALERT-{alert_id} NIC V123456789", event.action
        assert "burglary" not in (event.justification or ""), event.action
    assert reads_under_alert, "the read and its images are opened under the alert's own reference"
    auditor = harness.signed_in("auditor")
    found = auditor.get("/api/v1/audit/events", params={"case_number": f"alert-{alert_id}"}).json()
    assert {"alerts.view", "alerts.acknowledge"} <= {e["action"] for e in found["events"]}  # by its first word
    assert auditor.get("/api/v1/audit/events", params={"case_number": "ALERT-"}).json()["events"] == []


def test_a_read_opened_cold_asks_for_the_context_without_errors_or_a_refusal(harness: Harness) -> None:
    _, key = harness.camera()
    ingest(harness, key, make_read("6COLD66"))
    with harness.database.session() as session:
        read_id = session.scalars(select(PlateRead.id)).one()
    officer = harness.signed_in("sworn_officer")
    cold = officer.get(f"/reads/{read_id}")
    assert cold.status_code == 400 and "State the purpose first" in cold.text
    assert "missing" not in cold.text and 'class="error field-error"' not in cold.text
    wrong = officer.get(f"/reads/{read_id}", params={**CONTEXT, "case_number": "12345"})
    assert wrong.status_code == 400 and "Case number:" in wrong.text and "refusal recorded" in wrong.text
    with harness.database.session() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.access_refused")).all()
    assert len(refusals) == 1  # only the stated, wrong context


def test_search_posts_the_context_and_shows_results_at_an_address_without_it(harness: Harness) -> None:
    _, key = harness.camera("North")
    ingest(
        harness,
        key,
        make_read("7ABC123", region="us-ca", confidence=0.95),
        make_read("7ABC124", region="us-nv", confidence=0.55),
    )
    officer = harness.signed_in("sworn_officer")
    form = officer.get("/search").text
    assert 'method="post" action="/search"' in form and 'type="checkbox" name="camera"' in form
    assert 'value="24h"' in form and 'name="sort"' in form
    fields = {**CONTEXT, "plate": "7ABC12?", "range": "", "sort": "low_confidence"}
    assert officer.post("/search", data=fields).status_code == 403  # no CSRF token
    posted = officer.post("/search", data={**fields, "csrf_token": _csrf(form)}, follow_redirects=False)
    assert posted.status_code == 303
    target = posted.headers["location"]
    assert "justification" not in target and "case_number" not in target and "purpose" not in target
    assert "burglary" not in target and "2026" not in target
    results = officer.get(target)
    assert results.status_code == 200 and "2 reads found" in results.text
    body = results.text.split("reads found")[1]
    assert body.index("7ABC124") < body.index("7ABC123")  # least confident first
    assert "<td>NV</td>" in body and "<td>CA</td>" in body
    quick = officer.post("/search", data={**fields, "range": "24h", "csrf_token": _csrf(form)}, follow_redirects=False)
    assert "since=" in quick.headers["location"] and "until=" in quick.headers["location"]
    assert "2 reads found" in officer.get(quick.headers["location"]).text
    refused = officer.post("/search", data={**fields, "case_number": "12345", "csrf_token": _csrf(form)})
    assert refused.status_code == 400 and "Case number:" in refused.text
    api = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC12?", "sort": "confidence"}).json()
    assert [r["plate"] for r in api["results"]] == ["7ABC123", "7ABC124"] and api["results"][0]["region"] == "us-ca"
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC12?", "sort": "random"}).status_code == 422


def test_the_demo_holds_every_plate_the_readme_mentions(tmp_path: Path, database_url: str) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    plates = set(re.findall(r"`([0-9][A-Z]{3}[0-9]{3})`", readme))
    assert "7ABC123" in plates
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    assert _cli(tmp_path, database_url, "demo", "--reads", "20").returncode == 0
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = set(conn.execute(select(PlateRead.plate).where(PlateRead.plate.in_(plates))).scalars())
    engine.dispose()
    assert stored == plates


def test_a_supervisor_approves_officers_closes_leads_and_is_held_to_officer_training(harness: Harness) -> None:
    settings = harness.settings
    role = settings.access.roles["supervisor"]
    assert {"reads.search", "alerts.verify", "users.approve", "alerts.close_leads", "alerts.figures"} <= set(
        role.permissions
    )
    assert "users.manage" not in role.permissions
    officer_courses = {c.code for c in settings.access.courses if "sworn_officer" in c.required_for_roles}
    assert officer_courses and all("supervisor" in c.required_for_roles for c in settings.access.courses
                                   if c.code in officer_courses)  # fmt: skip
    harness.user("rookie", "sworn_officer", approved=False)
    harness.user("clerk2", "records", approved=False)
    harness.user("boss2", "alpr_admin", approved=False)
    sergeant = harness.signed_in("supervisor")
    queue = sergeant.get("/users/approvals")
    # rookie only: Records staff hold sharing rights (462.7) a sergeant lacks, so the Records Manager approves them
    assert queue.status_code == 200 and queue.text.count('action="/users/') == 1 and "rookie" in queue.text
    assert sergeant.get("/alerts/figures").status_code == 200
    assert sergeant.get("/users").status_code == 403
    fired, idle = harness.user("fired", "sworn_officer"), harness.user("idle", "sworn_officer")
    with harness.database.session() as session:
        ids = dict(session.execute(select(User.username, User.id).where(User.username.in_([fired, idle]))).all())
        session.execute(update(User).where(User.username == fired).values(status="deactivated", active=False))
        session.execute(update(User).where(User.username == idle).values(status="suspended", active=False))
    token = _csrf(queue.text)
    back = sergeant.post(f"/users/{ids[fired]}/reactivate", data={"csrf_token": token})
    assert back.status_code == 403 and "users.manage" in back.text and "Training (policy 462.10)" not in back.text
    assert sergeant.post(f"/users/{ids[idle]}/reactivate", data={"csrf_token": token}).status_code == 200
    with harness.database.session() as session:
        states = dict(session.execute(select(User.username, User.status).where(User.id.in_(ids.values()))).all())
    assert states == {fired: "deactivated", idle: "active"}


def test_an_officer_corrects_a_misread_and_search_and_lists_use_both_texts(harness: Harness) -> None:
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,HOND,CIV,GRY\n")
    _, key = harness.camera("North")
    ingest(harness, key, make_read("5SOW35O"))  # read with an O: a confusable hit on 5SOW350
    officer = harness.signed_in("sworn_officer")
    alert_id = officer.get("/api/v1/alerts").json()["alerts"][0]["id"]
    assert officer.post(f"/api/v1/alerts/{alert_id}/acknowledge").status_code == 200
    match_fix = {"result": "match", "attested": True, "corrected_plate": "5SOW850"}
    assert officer.post(f"/api/v1/alerts/{alert_id}/visual-check", json=match_fix).status_code == 409
    same = {"result": "misread", "attested": True, "corrected_plate": "5SOW35O"}
    refused = officer.post(f"/api/v1/alerts/{alert_id}/visual-check", json=same)
    assert refused.status_code == 409 and "corrected_plate" in refused.json()["detail"]
    fixed = {"result": "misread", "attested": True, "corrected_plate": "5sow 850"}
    assert officer.post(f"/api/v1/alerts/{alert_id}/visual-check", json=fixed).status_code == 200
    with harness.database.session() as session:
        read = session.scalars(select(PlateRead)).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.correct")).one()
    assert (read.plate, read.corrected_plate, read.correction) == ("5SOW35O", "5SOW850", "corrected")
    assert shown_details(harness.database, event)["corrected_plate"] == "5SOW850"
    assert event.case_number.startswith(f"ALERT-{alert_id}")
    found = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "5SOW850"}).json()
    assert found["total"] == 1 and found["results"][0]["corrected_plate"] == "5SOW850"
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "5SOW8*"}).json()["total"] == 1
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "5SOW35O"}).json()["total"] == 1  # OCR text too
    manager, second = hotlist_with(harness, "", name="Second list", kind="stolen_plate")
    load(harness, manager, second, "PlateNumber,State\n5SOW850,CA\n")  # the corrected text finds the past read
    with harness.database.session() as session:
        historical = session.scalars(select(Alert).where(Alert.historical.is_(True))).all()
    assert [(a.plate, a.matched_via) for a in historical] == [("5SOW35O", "corrected")]
    figures = harness.signed_in("auditor").get("/api/v1/alerts/figures").json()
    assert figures["cameras"][0]["corrected_reads"] == 1


def test_a_refused_context_with_overlong_values_is_recorded_not_a_server_error(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer")
    long = {"purpose": "p" * 300, "case_number": "9" * 300, "justification": "j" * 300}
    response = officer.get("/api/v1/reads", params={**long, "plate": "7ABC123"})
    assert response.status_code == 422 and "query.purpose" in response.text, response.text
    headers = {"X-Purpose": "p" * 300, "X-Case-Number": "9" * 300, "X-Justification": "j" * 300}
    assert officer.get("/api/v1/reads", params={"plate": "7ABC123"}, headers=headers).status_code == 400
    page = officer.get("/search", params={**long, "plate": "7ABC123"})
    assert page.status_code == 400
    with harness.database.session() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.access_refused")).all()
    assert len(refusals) == 2 and all(len(r.purpose or "") <= 64 for r in refusals)


def test_charts_show_reads_per_camera_hour_and_alerts_by_disposition(harness: Harness) -> None:
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,HOND,CIV,GRY\n")
    _, key = harness.camera("North")
    two_hours_ago = (utcnow() - timedelta(hours=2)).isoformat()
    ingest(harness, key, make_read("5SOW350"), make_read("1ABC111", captured_at=two_hours_ago), make_read("2ABC222"))
    admin = harness.signed_in("alpr_admin")
    cameras = admin.get("/cameras").text
    assert 'class="spark"' in cameras and "North: 3 reads in the last 24 hours" in cameras
    officer = harness.signed_in("sworn_officer")
    alert_id = officer.get("/api/v1/alerts").json()["alerts"][0]["id"]
    officer.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    officer.post(f"/api/v1/alerts/{alert_id}/disposition", json={"disposition": "misread"})
    figures = admin.get("/alerts/figures").text
    assert 'aria-label="Closed alerts by disposition"' in figures and "Misread rate per camera, of closed" in figures
    assert admin.get("/api/v1/alerts/figures").json()["dispositions"][0]["count"] == 1


def test_an_older_results_tab_never_runs_under_a_newer_searchs_case(harness: Harness) -> None:
    _, key = harness.camera("North")
    ingest(harness, key, make_read("1OLD111"), make_read("2OLD222"))
    officer = harness.signed_in("sworn_officer")
    token = _csrf(officer.get("/search").text)

    def post(plate: str, case: str) -> str:
        fields = {**CONTEXT, "plate": plate, "case_number": case, "range": "", "sort": "newest", "csrf_token": token}
        answer = officer.post("/search", data=fields, follow_redirects=False)
        assert answer.status_code == 303
        return answer.headers["location"]

    first = post("1OLD111", "2026-000001")
    second = post("2OLD222", "2026-000002")
    stale = officer.get(first)
    assert stale.status_code == 200 and "nothing was searched" in stale.text and "read found" not in stale.text
    fresh = officer.get(second)
    assert "1 read found" in fresh.text
    read_link = re.search(r'href="(/reads/[0-9a-f-]{36}\?ctx=[^"]+)"', fresh.text).group(1)  # type: ignore[union-attr]
    assert officer.get(read_link).status_code == 200
    post("1OLD111", "2026-000003")  # a third search: the second tab's read links are stale now
    assert "State the purpose first" in officer.get(read_link).text
    with harness.database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["reads.search", "reads.view"])).order_by(AuditEvent.seq)
        ).all()
    assert [(e.action, e.case_number) for e in events] == [
        ("reads.search", "2026-000002"),
        ("reads.view", "2026-000002"),
    ]


def test_review_findings_on_corrections_justifications_and_cameras(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer")
    plate_in_text = {**CONTEXT, "justification": "silver sedan 7AAA123 seen leaving the burglary on 5th"}
    assert officer.get("/api/v1/reads", params={**plate_in_text, "plate": "7AAA123"}).status_code == 200
    huge_camera = officer.get("/search", params={**CONTEXT, "plate": "7AAA123", "camera": "9" * 5000})
    assert huge_camera.status_code == 200
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen,,,,\n")
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW35O"))
    alert_id = officer.get("/api/v1/alerts").json()["alerts"][0]["id"]
    officer.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    blank = {"result": "misread", "attested": True, "corrected_plate": " - "}
    assert officer.post(f"/api/v1/alerts/{alert_id}/visual-check", json=blank).status_code == 200
    with harness.database.session() as session:
        assert session.scalars(select(PlateRead.correction)).one() is None  # blank is no correction, not "unreadable"
