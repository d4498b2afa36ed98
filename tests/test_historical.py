"""Historical hits: past reads (best text and OCR alternates) searched for new entries, officer-added or imported."""

from __future__ import annotations

import base64
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, select

from platekeeper.alerts.historical import search_history_for_import
from platekeeper.alerts.models import Alert
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.hotlists.importers import ImportSpec
from platekeeper.hotlists.matcher import MatchTarget
from platekeeper.hotlists.service import hotlist_by_name, import_entries, search_past_reads
from platekeeper.hotlists.watch import refresh_from_watch_dir
from platekeeper.reads.queue import claim_job, complete_job
from platekeeper.recognition.base import PlateBox, PlateCandidate, RecognizedPlate
from tests.conftest import CONTEXT, Harness, jpeg_bytes
from tests.hotlist_helpers import CSV_HEADER, ingest, load, make_list, make_read
from tests.test_cli import _cli


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _alerts(harness: Harness) -> list[Alert]:
    with harness.database.session() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _with_matching(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"matching": settings.matching.model_copy(update=changes)})


def _wait(harness: Harness) -> None:
    harness.client.app.state.alerting.wait_history()  # type: ignore[attr-defined]


def test_officer_entry_matches_ocr_alternates_with_match_kinds(harness: Harness) -> None:
    _, key = harness.camera("Unit 7", "mobile")
    ingest(
        harness,
        key,
        make_read("8ZZZ100", captured_at=_ago(3)),
        make_read("8ZZZ1O1", captured_at=_ago(10), candidates=[{"text": "8ZZZ100", "confidence": 0.3}]),
        make_read("4ABC000", captured_at=_ago(20), candidates=[{"text": "8ZZZ1OO", "confidence": 0.2}]),
        make_read("4ABC001", captured_at=_ago(4), candidates=[{"text": "8ZZZ100", "confidence": 0.01}]),  # too low
        make_read("7QQQ777", captured_at=_ago(1)),
    )
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager, "Officer entries", "custom", None)
    officer = harness.signed_in("sworn_officer", "dana")
    added = officer.post(f"/api/v1/hotlists/{hotlist_id}/entries", params=CONTEXT, json={"plate": "8ZZZ100"})
    assert added.status_code == 201, added.text
    body = added.json()
    assert [(h["plate"], h["matched_text"], h["matched_via"], h["match_kind"]) for h in body["historical_hits"]] == [
        ("8ZZZ100", "8ZZZ100", "best", "exact"),
        ("8ZZZ1O1", "8ZZZ100", "candidate", "exact"),
        ("4ABC000", "8ZZZ1OO", "candidate", "confusable"),
    ]
    assert (body["historical_hits_found"], body["reads_searched"]) == (3, 5)
    assert body["historical_hits"][0]["camera"]["name"] == "Unit 7"
    search = _events(harness, "hotlists.historical_search")[-1]
    assert (search.username, search.purpose, search.case_number) == ("dana", CONTEXT["purpose"], CONTEXT["case_number"])
    assert (search.details["results"], search.details["reads_searched"], search.details["prefiltered"]) == (3, 5, True)
    assert _alerts(harness) == []  # an officer entry shows its hits to the officer; it raises no alerts


def _random_plate(rng: random.Random) -> str:
    return "".join(rng.choice("0OD8B1IZ2AX") for _ in range(rng.choice((5, 6, 7))))


def test_the_database_prefilter_finds_what_streaming_finds(harness: Harness) -> None:
    """The prefilter (the database folds confusable characters) is exact: the same hits as streaming every read."""
    rng = random.Random(462)
    _, key = harness.camera()
    plates = [_random_plate(rng) for _ in range(400)]
    for start in range(0, 400, 200):
        ingest(harness, key, *[
            make_read(p, captured_at=_ago(rng.uniform(0, 300)), region=rng.choice([None, "us-ca", "us-nv"]),
                      candidates=[{"text": _random_plate(rng), "confidence": rng.random()} for _ in range(3)],
                      crop_image=None)
            for p in plates[start : start + 200]
        ])  # fmt: skip
    targets = [
        MatchTarget(i, 1, plate, rng.choice([None, "CA"]))
        for i, plate in enumerate({_random_plate(rng) for _ in range(40)} | set(plates[:5]))
    ]
    streamed = _with_matching(harness.settings, historical_prefilter_entries=0)

    def key_of(hit: Any) -> tuple[Any, ...]:
        return (hit.read.id, hit.match.entry_id, hit.match.kind, hit.match.via, hit.match.text)

    found: list[int] = []
    with harness.database.read_connection() as conn:
        singles = [[t] for t in targets if t.plate in plates[:3]] + [[t] for t in targets[:: len(targets) // 5]]
        for chosen in [targets, *singles]:  # many plates, and single plates (officer entries)
            fast = search_past_reads(conn, harness.settings, chosen, limit=10_000)
            slow = search_past_reads(conn, streamed, chosen, limit=10_000)
            assert fast.prefiltered and not slow.prefiltered
            assert fast.examined <= slow.examined == slow.searched == fast.searched == 400
            assert sorted(map(key_of, fast.hits)) == sorted(map(key_of, slow.hits)), chosen
            assert fast.found == slow.found
            found.append(fast.found)
    assert found[0] > 5 and max(found[1:]) >= 1  # best texts and alternates hit, for many plates and for one


def test_imports_raise_historical_alerts_for_plates_new_to_the_list(harness: Harness) -> None:
    _, key = harness.camera("Highland & 15th")
    ingest(
        harness,
        key,
        make_read("5SOW350", captured_at=_ago(40)),
        make_read("7ABC123", captured_at=_ago(2), region="us-nv"),
        make_read("9XYZ0O0", captured_at=_ago(9), candidates=[{"text": "9XYZ000", "confidence": 0.4}]),
        make_read("1NEW111", captured_at=_ago(1)),
    )
    manager = harness.signed_in("records_manager", "lee")
    hotlist_id = make_list(manager)
    first = load(harness, manager, hotlist_id, CSV_HEADER + "5SOW350,CA,VEH,stolen,,HOND,CIV,GRY\n")
    assert first.json()["new_plates"] == 1
    _wait(harness)
    (alert,) = _alerts(harness)
    assert (alert.plate, alert.historical, alert.match_kind, alert.status) == ("5SOW350", True, "exact", "new")
    ingest(harness, key, make_read("5SOW350"))  # a live sighting: a live alert
    assert [a.historical for a in _alerts(harness)] == [True, False]
    # the daily refresh: 5SOW350 stays (no second search for it); two plates are new
    rows = "5SOW350,CA,VEH,stolen,,,,\n7ABC123,CA,LIC,stolen plate,,,,\n9XYZ000,CA,VEH,stolen,,,,\n"
    assert load(harness, manager, hotlist_id, CSV_HEADER + rows).json()["new_plates"] == 2
    _wait(harness)
    new = _alerts(harness)[2:]
    assert sorted((a.plate, a.matched_text, a.matched_via, a.match_kind, a.state_mismatch) for a in new) == [
        ("7ABC123", "7ABC123", "best", "exact", True),
        ("9XYZ0O0", "9XYZ000", "candidate", "exact", False),
    ]
    assert all(a.historical for a in new)
    incremental = load(harness, manager, hotlist_id, CSV_HEADER + "5SOW350,CA,VEH,x,,,,\n1NEW111,CA,VEH,x,,,,\n",
                       mode="incremental")  # fmt: skip
    assert incremental.json()["new_plates"] == 1
    _wait(harness)
    assert [a.plate for a in _alerts(harness)[4:]] == ["1NEW111"]
    searches = _events(harness, "hotlists.historical_search")
    assert [e.details["new_plates"] for e in searches] == [1, 2, 1]
    assert {(e.username, e.purpose) for e in searches} == {("lee", harness.settings.hotlists.historical_search_purpose)}
    assert [e.details["alerts"] for e in searches] == [1, 2, 1]
    creates = [(e.username, e.client, e.details["historical"]) for e in _events(harness, "alerts.create")]
    assert creates == [("lee", "testclient", True), (None, "ingest", False), *[("lee", "testclient", True)] * 3]


def test_a_read_already_alerted_on_the_list_gets_no_historical_twin(harness: Harness) -> None:
    _, key = harness.camera()
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager)
    load(harness, manager, hotlist_id, CSV_HEADER + "5SOW350,CA,VEH,stolen,,,,\n")
    _wait(harness)
    ingest(harness, key, make_read("5SOW350"))
    load(harness, manager, hotlist_id, CSV_HEADER + "6OTHER6,CA,VEH,x,,,,\n")  # 5SOW350 leaves the list...
    load(harness, manager, hotlist_id, CSV_HEADER + "5SOW350,CA,VEH,x,,,,\n")  # ...and comes back: new again
    _wait(harness)
    assert [(a.plate, a.historical) for a in _alerts(harness)] == [("5SOW350", False)]
    assert _events(harness, "hotlists.historical_search")[-1].details["results"] == 1


def test_historical_alerts_are_marked_on_the_dashboard_and_the_alert(harness: Harness) -> None:
    _, key = harness.camera("Highland & 15th")
    ingest(harness, key, make_read("5SOW350", captured_at=_ago(40)))
    manager = harness.signed_in("records_manager")
    load(harness, manager, make_list(manager), CSV_HEADER + "5SOW350,CA,VEH,stolen,,,,\n")
    _wait(harness)
    officer = harness.signed_in("sworn_officer")
    (alert,) = officer.get("/api/v1/alerts").json()["alerts"]
    assert alert["historical"] is True and len(alert["captured_at_local"]) == len("2026-11-28 08:00")
    dashboard = officer.get("/alerts").text
    assert 'class="alert-row p1 status-new historical"' in dashboard and ">historical</span>" in dashboard
    page = officer.get(f"/alerts/{alert['id']}", params=CONTEXT)
    assert page.status_code == 200 and "Historical hit, not a live sighting" in page.text


def _import(harness: Harness, name: str, rows: str, mode: str = "full") -> Any:
    with harness.database.session() as session:
        hotlist = hotlist_by_name(session, name)
        assert hotlist is not None
        return import_entries(
            harness.work(session), hotlist.id, (CSV_HEADER + rows).encode(), ImportSpec(),
            mode=mode, file_name="test.csv",  # type: ignore[arg-type]
        )  # fmt: skip


def test_the_alert_limit_keeps_the_newest_hits_and_counts_the_rest(harness: Harness) -> None:
    _, key = harness.camera()
    ingest(harness, key, *[make_read("5SOW350", captured_at=_ago(days)) for days in (30, 3, 10)])
    make_list(harness.signed_in("records_manager"))
    outcome = _import(harness, "NCIC stolen", "5SOW350,CA,VEH,stolen,,,,\n")
    settings = _with_matching(harness.settings, historical_alert_limit=2)
    found = search_history_for_import(
        settings, harness.database, harness.key, Actor.system("test"), outcome, file_name="test.csv"
    )
    assert (found.alerts, found.left_out) == (2, 1) and "1 older hit(s) not raised" in found.describe()
    ages = sorted(datetime.now(UTC) - a.captured_at for a in _alerts(harness))
    assert [round(age / timedelta(days=1)) for age in ages] == [3, 10]
    search = _events(harness, "hotlists.historical_search")[-1]
    assert (search.details["results"], search.details["kept"], search.details["alerts"]) == (3, 2, 2)


@pytest.mark.parametrize("prefilter", [True, False])
def test_a_big_import_is_searched_with_a_fixed_number_of_queries(harness: Harness, prefilter: bool) -> None:
    """No query per entry: 20,000 new entries are looked up 500 a query (or read in one pass) and every past read
    is matched in batches."""
    rng = random.Random(7)
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350", captured_at=_ago(5)), make_read("8NOPE00", captured_at=_ago(5)))
    make_list(harness.signed_in("records_manager"))
    plates = {f"{rng.randrange(10**6):06d}X" for _ in range(20_000)} | {"5SOW350"}
    outcome = _import(harness, "NCIC stolen", "".join(f"{p},CA,VEH,x,,,,\n" for p in sorted(plates)))
    assert len(outcome.new_plates) == len(plates)
    settings = _with_matching(harness.settings, historical_prefilter_entries=20_000 if prefilter else 0)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(harness.database.engine, "before_cursor_execute", listener)
    try:
        found = search_history_for_import(
            settings, harness.database, harness.key, Actor.system("test"), outcome, file_name="big.csv"
        )
    finally:
        event.remove(harness.database.engine, "before_cursor_execute", listener)
    assert found.scan is not None and found.scan.prefiltered is prefilter
    assert (found.scan.entries, found.scan.found, found.alerts) == (len(plates), 1, 1)
    lookups = -(-len(plates) // 500) if prefilter else 1  # the new entries by plate, 500 a query; or one pass
    assert len(statements) <= lookups + 15, statements


def test_the_watched_folder_refresh_searches_history(harness: Harness, tmp_path: Path) -> None:
    _, key = harness.camera()
    ingest(harness, key, make_read("9WATCH9", captured_at=_ago(6)))
    make_list(harness.signed_in("records_manager"))
    watch = tmp_path / "watch"
    watch.mkdir()
    (watch / "NCIC stolen.csv").write_text(CSV_HEADER + "9WATCH9,CA,VEH,x,,,,\n")
    settings = harness.settings.model_copy(
        update={"hotlists": harness.settings.hotlists.model_copy(update={"watch_dir": watch})}
    )
    alerting = harness.client.app.state.alerting  # type: ignore[attr-defined]
    (result,) = refresh_from_watch_dir(settings, harness.database, harness.key, search_history=alerting.search_history)
    assert result.loaded == 1 and not result.historical_failed
    assert result.historical is not None and "1 historical alert(s) raised" in result.historical
    (alert,) = _alerts(harness)
    assert (alert.plate, alert.historical) == ("9WATCH9", True)
    assert _events(harness, "hotlists.historical_search")[-1].client == "watch"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hotlists": {"historical_search_purpose": "curiosity"}}, "hotlists.historical_search_purpose"),
        ({"matching": {"historical_alert_limit": 0}}, "historical_alert_limit"),
        ({"alerts": {"stream_poll_seconds": 2}}, "stream_poll_seconds"),
    ],
)
def test_config_refuses_bad_historical_and_stream_settings(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


@pytest.mark.slow
def test_cli_import_reports_the_historical_search(tmp_path: Path, database_url: str, settings: Settings) -> None:
    from platekeeper.audit.service import load_or_create_key
    from platekeeper.cameras.service import create_camera
    from platekeeper.db import Database
    from platekeeper.reads.images import ImageStore
    from platekeeper.reads.ingest import ingest_batch

    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    created = _cli(tmp_path, database_url, "hotlists", "create", "NCIC stolen", "--kind", "stolen_vehicle",
                   "--source", "CLETS daily extract")  # fmt: skip
    assert created.returncode == 0, created.stderr
    database = Database(database_url)
    try:
        with database.session() as session:
            key = load_or_create_key(settings.data_dir / settings.audit.key_file)
            camera, _ = create_camera(Work(session, settings, key, Actor.system("test")), name="Cam", kind="fixed")
            reads = [make_read("5SOW350", captured_at=_ago(12), crop_image=None, id=str(uuid.uuid4()))]
            ingest_batch(session, settings, ImageStore(tmp_path / "images"), camera, {"reads": reads})
        good = tmp_path / "good.csv"
        good.write_text(CSV_HEADER + "5SOW350,CA,VEH,stolen,,,,\n7ABC123,CA,VEH,stolen,,,,\n")
        loaded = _cli(tmp_path, database_url, "hotlists", "import", str(good), "--list", "NCIC stolen")
        assert loaded.returncode == 0, loaded.stderr
        assert "2 plate(s) new to the list" in loaded.stdout
        assert "1 past reads searched for 2 new plate(s); 1 hit(s), 1 historical alert(s) raised" in loaded.stdout
        with database.session() as session:
            (alert,) = session.scalars(select(Alert)).all()
        assert (alert.plate, alert.historical) == ("5SOW350", True)
    finally:
        database.dispose()


def test_alternates_read_by_the_worker_are_stored_normalized_and_found(harness: Harness) -> None:
    """The database's prefilter compares stored alternates as A-Z0-9: the worker stores them so, like ingest."""
    _, key = harness.camera()
    image = {"base64": base64.b64encode(jpeg_bytes((640, 360))).decode()}
    ingest(harness, key, make_read(plate=None, confidence=None, crop_image=None, overview_image=image))
    plate = RecognizedPlate(
        text="8ZZZ101", confidence=0.8, box=PlateBox(1, 2, 121, 42, 0.8), raw="8ZZZ101", region="us-ca",
        candidates=(PlateCandidate("8zzz-1OO", 0.4), PlateCandidate("-", 0.3)),
        crop=np.full((40, 120, 3), 200, dtype=np.uint8),
    )  # fmt: skip
    with harness.database.session() as session:
        job = claim_job(session, harness.settings)
        assert job is not None
        complete_job(session, harness.settings, harness.store, job, [plate])
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager, "Officer entries", "custom", None)
    officer = harness.signed_in("sworn_officer")
    added = officer.post(f"/api/v1/hotlists/{hotlist_id}/entries", params=CONTEXT, json={"plate": "8ZZZ100"})
    (hit,) = added.json()["historical_hits"]
    assert (hit["plate"], hit["matched_text"], hit["matched_via"], hit["match_kind"]) == (
        "8ZZZ101",
        "8ZZZ1OO",
        "candidate",
        "confusable",
    )
