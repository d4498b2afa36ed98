"""Retention (policy 462.9): the read-time floor, legal holds, the purge and its signed certificate."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from platekeeper.alerts.models import Alert
from platekeeper.audit.models import AuditEvent, AuditPlateText
from platekeeper.audit.service import verify_chain
from platekeeper.cli import app as cli_app
from platekeeper.reads.images import ImageStore, validate_image
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.reads.unlink import delete_settled_file
from platekeeper.retention.models import PurgeFileBatch, PurgeRunBatch
from platekeeper.retention.models import PurgeRun as PurgeRunModel
from platekeeper.retention.service import verify_document
from platekeeper.retention.service.purge import CERTIFICATE_TYPE
from platekeeper.retention.service.sweeper import lower_priority
from tests.conftest import CONTEXT, Harness, jpeg_bytes
from tests.hotlist_helpers import hotlist_with
from tests.retention_helpers import age, context, hold, ingest_reads, purger, read_with, settle, stored
from tests.test_alerts import ROWS

JAN_1, JAN_2 = "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"
WINDOW = {"since": JAN_1, "until": JAN_2}


def _actions(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_expired_reads_are_refused_everywhere_before_any_purge(harness: Harness) -> None:
    """The issue's reproduction: a read backdated to 400 days is still found, opened and its crop downloaded."""
    _, key = harness.camera("North")
    old, young = ingest_reads(harness, key, read_with("7ABC123", (10, 10, 10)), read_with("7ABC123", (20, 20, 20)))
    age(harness, [old], 400)
    officer = harness.signed_in("sworn_officer")
    found = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123"}).json()
    assert [r["id"] for r in found["results"]] == [young] and found["total"] == 1
    assert officer.get(f"/api/v1/reads/{old}", params=CONTEXT).status_code == 404
    assert officer.get(f"/api/v1/reads/{old}/images/crop", params=CONTEXT).status_code == 404
    assert officer.get(f"/api/v1/reads/{young}/images/crop", params=CONTEXT).status_code == 200
    story = officer.get("/api/v1/plates/7ABC123", params=CONTEXT).json()
    assert [r["id"] for r in story["reads"]] == [young]
    assert old in stored(harness)  # refused at read time, though no purge has run yet


def test_expired_alerts_show_no_plate_before_the_purge(harness: Harness) -> None:
    hotlist_with(harness, ROWS)
    _, key = harness.camera("North")
    (old,) = ingest_reads(harness, key, read_with("5SOW350", (30, 30, 30)))
    officer = harness.signed_in("sworn_officer")
    alert = officer.get("/api/v1/alerts").json()["alerts"][0]
    age(harness, [old], 400)
    assert officer.get("/api/v1/alerts").json()["alerts"] == []
    assert officer.get(f"/api/v1/alerts/{alert['id']}").status_code == 404


def test_a_held_read_is_reachable_only_through_its_own_case(harness: Harness) -> None:
    _, key = harness.camera("North")
    (old,) = ingest_reads(harness, key, read_with("6HLD001", (40, 40, 40)))
    age(harness, [old], 400)
    records, manager = harness.signed_in("records"), harness.signed_in("records_manager")
    officer = harness.signed_in("sworn_officer")
    made = hold(records, None, case="2026-004321", scope="reads", read_ids=[old])
    assert made["status"] == "requested" and made["reads"] == 1
    # requested but not approved: kept from the purge, not yet visible
    assert officer.get(f"/api/v1/reads/{old}", params=context("2026-004321")).status_code == 404
    assert manager.post(f"/api/v1/holds/{made['id']}/decision", json={"decision": "approve"}).status_code == 200
    assert officer.get(f"/api/v1/reads/{old}", params=context("2026-004321")).status_code == 200
    assert officer.get(f"/api/v1/reads/{old}", params=context("2026-001234")).status_code == 404
    search = officer.get("/api/v1/reads", params={**context("2026-004321"), "plate": "6HLD001"}).json()
    assert search["total"] == 1
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "6HLD001"}).json()["total"] == 0


def test_a_hold_is_never_approved_by_who_asked_and_a_release_needs_a_reason(harness: Harness) -> None:
    manager, admin = harness.signed_in("records_manager", "rmgr"), harness.signed_in("alpr_admin")
    made = hold(
        manager, None, scope="plate", plate="7ABC123", since="2025-01-01T00:00:00Z", until="2025-02-01T00:00:00Z"
    )
    start, end = (datetime(2025, month, 1, tzinfo=UTC).astimezone(harness.settings.tz) for month in (1, 2))
    assert made["covers"] == f"plate 7ABC123, {start:%Y-%m-%d %H:%M %Z} to {end:%Y-%m-%d %H:%M %Z}"  # agency time
    own = manager.post(f"/api/v1/holds/{made['id']}/decision", json={"decision": "approve"})
    assert own.status_code == 403 and own.json()["field"] == "hold"
    refused = _actions(harness, "holds.refused")
    assert refused and refused[-1].username == "rmgr"
    assert admin.post(f"/api/v1/holds/{made['id']}/decision", json={"decision": "approve"}).status_code == 200
    bare = admin.post(f"/api/v1/holds/{made['id']}/release", json={"reason": " "})
    assert bare.status_code == 400 and bare.json()["field"] == "reason"
    assert admin.get(f"/api/v1/holds/{made['id']}").json()["status"] == "active"
    done = admin.post(f"/api/v1/holds/{made['id']}/release", json={"reason": "case closed by the district attorney"})
    assert done.status_code == 200 and done.json()["status"] == "released"
    again = admin.post(f"/api/v1/holds/{made['id']}/release", json={"reason": "case closed by the district attorney"})
    assert again.status_code == 409


def test_bad_hold_requests_name_the_field(harness: Harness) -> None:
    records = harness.signed_in("records")
    base = {"case_number": "2026-004321", "reason": "evidence", "description": "vehicle in the robbery on Main"}
    cases = [
        ({"case_number": "12345", "scope": "plate", "plate": "7ABC123"}, "case_number"),
        (
            {"scope": "plate", "plate": "7AB*", **WINDOW},
            "plate",
        ),
        ({"scope": "plate", "plate": "7ABC123"}, "since"),
        (
            {"scope": "plate", "plate": "7ABC123", "since": JAN_2, "until": JAN_1},
            "until",
        ),
        (
            {"scope": "camera", "camera_id": 999, **WINDOW},
            "camera_id",
        ),
        ({"scope": "reads", "read_ids": [str(uuid.uuid4())]}, "read_ids"),
        ({"scope": "reads", "read_ids": []}, "read_ids"),
        ({"scope": "plate", "description": "short", "plate": "7ABC123"}, "description"),
    ]
    for overrides, field in cases:
        response = records.post("/api/v1/holds", json={**base, **overrides})
        assert response.status_code == 400, (overrides, response.text)
        assert response.json()["field"] == field, (overrides, response.json())
    assert records.post("/api/v1/holds", json={**base, "scope": "everything"}).status_code == 422
    assert records.get("/api/v1/holds").json() == []


def test_the_purge_removes_every_artifact_and_nothing_else(harness: Harness) -> None:
    hotlist_with(harness, ROWS)
    _, key = harness.camera("North")
    shared = read_with("7SHR001", (50, 50, 50))
    expired, kept_young, held, shares_image = ingest_reads(
        harness, key, read_with("5SOW350", (60, 60, 60)), read_with("7YNG001", (70, 70, 70)),
        read_with("7HLD001", (80, 80, 80)), shared,
    )  # fmt: skip
    young_twin = read_with("7SHR002", (50, 50, 50))  # the same crop bytes as `shared`: one file for two reads
    ingest_reads(harness, key, young_twin)
    age(harness, [expired, held, shares_image], 400)
    hold(harness.signed_in("records"), harness.signed_in("records_manager"), scope="reads", read_ids=[held])
    with harness.database.session() as session:
        crops = dict(session.execute(select(PlateRead.id, PlateRead.crop_sha256)).all())
    crop = {str(k): v for k, v in crops.items()}
    run = purger(harness).run()
    assert run.counts["reads"] == 2 and run.counts["alerts"] == 1 and run.counts["images"] == 1
    assert stored(harness) == {kept_young, held, young_twin["id"]}
    assert not harness.store.path(crop[expired]).exists()
    assert harness.store.path(crop[shares_image]).exists()  # still named by the younger twin
    assert harness.store.path(crop[held]).exists()
    with harness.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.plate == "5SOW350")) == 0
        assert session.get(StoredImage, crop[expired]) is None
        assert session.scalar(select(func.count()).select_from(PurgeRunBatch)) == 0
        assert session.scalar(select(func.count()).select_from(PurgeFileBatch)) == 0
    certificate = run.certificate
    assert certificate is not None
    document = certificate["document"]
    assert document["kept_under_hold"] == {"reads": 1, "holds": 1}
    assert document["purged_read_ids"]["count"] == 2
    lines = "".join(f"{i}\n" for i in sorted([expired, shares_image]))
    assert document["purged_read_ids"]["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert verify_document(certificate, CERTIFICATE_TYPE, harness.client.app.state.platekeeper.signing_key.public) == []
    finished = _actions(harness, "retention.purge")
    assert finished[-1].details["reads"] == 2 and finished[-1].details["held_reads"] == 1
    again = purger(harness).run()  # idempotent: nothing more to remove
    assert again.counts["reads"] == 0 and stored(harness) == {kept_young, held, young_twin["id"]}


def test_the_purge_removes_expired_recognition_jobs_and_their_uploads(harness: Harness) -> None:
    camera_id, _ = harness.camera("North")
    image = validate_image(jpeg_bytes(color=(90, 1, 1)), harness.settings.ingest)
    harness.store.put(image)
    settle(harness, image.sha256)
    with harness.database.session() as session:
        session.add(
            StoredImage(sha256=image.sha256, media_type="image/jpeg", size_bytes=len(image.data), width=120, height=60)
        )
        session.flush()
        captured = datetime.now(UTC) - timedelta(days=400)
        session.add(
            RecognitionJob(id=uuid.uuid4(), camera_id=camera_id, image_sha256=image.sha256, image_kind="overview",
                           captured_at=captured, state="done")
        )  # fmt: skip
    run = purger(harness).run()
    assert run.counts["jobs"] == 1 and run.counts["images"] == 1
    assert not harness.store.path(image.sha256).exists()


def test_a_dry_run_counts_and_changes_nothing(harness: Harness) -> None:
    _, key = harness.camera("North")
    ids = ingest_reads(harness, key, read_with("7ABC123", (1, 2, 3)), read_with("7ABC124", (4, 5, 6)))
    age(harness, ids[:1], 400)
    preview = purger(harness).preview()
    assert (preview.reads, preview.images, preview.held_reads) == (1, 1, 0)
    assert stored(harness) == set(ids)
    result = CliRunner().invoke(cli_app, ["purge", "--dry-run"], env=_cli_env(harness))
    assert result.exit_code == 0, result.output
    assert "nothing was removed" in result.output and stored(harness) == set(ids)


def _cli_env(harness: Harness) -> dict[str, str]:
    return {
        "PLATEKEEPER_DATA_DIR": str(harness.settings.data_dir),
        "PLATEKEEPER_DATABASE_URL": harness.settings.database_url,
    }


def test_certificate_download_and_tampering_is_detected(harness: Harness, tmp_path) -> None:
    _, key = harness.camera("North")
    ids = ingest_reads(harness, key, read_with("7ABC123", (7, 8, 9)))
    age(harness, ids, 400)
    run = purger(harness).run()
    admin = harness.signed_in("alpr_admin")
    body = admin.get(f"/api/v1/retention/purges/{run.id}/certificate").content
    pdf = admin.get(f"/retention/purges/{run.id}/certificate", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = admin.get(f"/retention/purges/{run.id}/certificate")
    assert page.status_code == 200 and "Purge certificate No." in page.text
    figures = admin.get("/api/v1/retention").json()
    assert figures["last_purge"]["id"] == run.id and figures["stale"] is False
    good = tmp_path / "certificate.json"
    good.write_bytes(body)
    env = _cli_env(harness)
    ok = CliRunner().invoke(cli_app, ["purge", "verify", str(good)], env=env)
    assert ok.exit_code == 0, ok.output
    changed = json.loads(body)
    changed["document"]["removed"]["reads"] = 0
    bad = tmp_path / "changed.json"
    bad.write_text(json.dumps(changed))
    refused = CliRunner().invoke(cli_app, ["purge", "verify", str(bad)], env=env)
    assert refused.exit_code == 1 and "changed after signing" in refused.output
    one_byte = bytearray(body)
    at = body.index(b'"sha256":"') + 11
    one_byte[at] = ord("0") if one_byte[at] != ord("0") else ord("1")
    bad.write_bytes(bytes(one_byte))
    assert CliRunner().invoke(cli_app, ["purge", "verify", str(bad)], env=env).exit_code == 1
    bad.write_text("not json")
    assert CliRunner().invoke(cli_app, ["purge", "verify", str(bad)], env=env).exit_code == 2


def test_roles_reach_what_retention_grants(harness: Harness) -> None:
    officer, auditor = harness.signed_in("sworn_officer"), harness.signed_in("auditor")
    assert officer.get("/api/v1/holds").status_code == 403
    assert officer.get("/retention").status_code == 403
    assert auditor.get("/api/v1/retention").status_code == 200
    assert auditor.get("/api/v1/holds").status_code == 403
    admin = harness.signed_in("alpr_admin")
    page = admin.get("/retention")
    assert page.status_code == 200 and "No purge has finished" in page.text  # never purged: the warning shows


def test_the_administrators_home_shows_the_retention_figures(harness: Harness) -> None:
    _, key = harness.camera("North")
    ids = ingest_reads(harness, key, read_with("7ABC123", (3, 3, 3)), read_with("7ABC124", (4, 4, 4)))
    age(harness, ids[:1], 400)
    admin, officer = harness.signed_in("alpr_admin"), harness.signed_in("sworn_officer")
    page = admin.get("/").text
    assert "reads due for purge" in page and "No purge has finished" in page
    assert "reads due for purge" not in officer.get("/").text
    purger(harness).run()
    page = admin.get("/").text
    assert "No purge has finished" not in page and "/certificate" in page


def test_the_purge_forgets_old_audit_plate_text_and_the_chain_still_verifies(harness: Harness) -> None:
    _, key = harness.camera("North")
    ingest_reads(harness, key, read_with("7FGT001", (5, 5, 5)))
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7FGT001"}).json()["total"] == 1
    later = datetime.now(UTC) + timedelta(days=harness.settings.audit.plate_detail_days + 1)
    assert purger(harness).preview(now=later).plate_texts >= 1
    run = purger(harness).run(now=later)
    assert run.counts["plate_texts"] >= 1 and run.certificate["document"]["removed"]["plate_texts"] >= 1
    with harness.database.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(AuditPlateText).where(AuditPlateText.text.is_not(None)))
            == 0
        )
        assert verify_chain(session, harness.key).first_bad_seq is None
    auditor = harness.signed_in("auditor")
    found = auditor.get("/api/v1/audit/events", params={"plate": "7FGT001", "action": "reads.search"}).json()
    assert found["total"] == 1  # the digest still answers "who searched for this plate?"


def test_the_console_holds_an_untrained_account_to_its_training(harness: Harness) -> None:
    """`--as` names an account; one whose training lapsed reaches no plate data from the console either (462.10)."""
    harness.user("lapsed", "records", trained=False)
    harness.user("current", "records")
    env = _cli_env(harness)
    refused = CliRunner().invoke(cli_app, ["holds", "list", "--as", "lapsed"], env=env)
    assert refused.exit_code == 2 and "training" in refused.output
    harness.user("lapsedaudit", "auditor", trained=False)
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    export = CliRunner().invoke(cli_app, ["audit", "export", "--as", "lapsedaudit", "--since", since], env=env)
    assert export.exit_code == 2 and "training" in export.output
    assert CliRunner().invoke(cli_app, ["holds", "list", "--as", "current"], env=env).exit_code == 0
    refusals = _actions(harness, "auth.training_refused")  # each refusal recorded, though the command did nothing
    assert [e.username for e in refusals] == ["lapsed", "lapsedaudit"]


def test_a_swept_file_goes_alone_and_the_purge_threads_yield_the_cpu(tmp_path) -> None:
    store = ImageStore(tmp_path, None, encrypt=False, grace_minutes=60)
    settled, young = hashlib.sha256(b"settled").hexdigest(), hashlib.sha256(b"young").hexdigest()
    for digest in (settled, young):
        store.path(digest).parent.mkdir(parents=True, exist_ok=True)
        store.path(digest).write_bytes(b"image")
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(store.path(settled), (two_hours_ago, two_hours_ago))
    assert delete_settled_file(str(store.path(settled)), 3600) and not store.path(settled).exists()
    assert store.path(settled).parent.is_dir()  # the folder stays for later images
    assert delete_settled_file(str(store.path(settled)), 3600)  # gone already: settled all the same
    assert (
        not delete_settled_file(str(store.path(young)), 3600) and store.path(young).exists()
    )  # an upload may still count on it
    before, seen = os.getpriority(os.PRIO_PROCESS, 0), []

    def purge_thread() -> None:
        lower_priority(3)
        seen.append(os.getpriority(os.PRIO_PROCESS, 0))

    thread = threading.Thread(target=purge_thread)
    thread.start()
    thread.join()
    assert seen == [min(19, before + 3)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # only the purge's own thread is lowered


def test_a_certificate_signed_before_a_kind_existed_still_shows(harness: Harness) -> None:
    """A certificate is signed as it was: one signed before a kind of record was counted (``system_audits``) shows
    that kind as not counted, never a 0 it does not say, and never a server error."""
    run = purger(harness).run()
    with harness.database.session() as session:
        row = session.get_one(PurgeRunModel, run.id)
        certificate = json.loads(json.dumps(row.certificate))
        del certificate["document"]["removed"]["system_audits"]
        row.certificate = certificate
    page = harness.signed_in("alpr_admin").get(f"/retention/purges/{run.id}/certificate")
    assert page.status_code == 200 and "not counted when this was signed" in page.text
