"""Hotlists: creation rules, all-or-nothing import (CSV, fixed width), officer entries, historical hits, staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from platekeeper.audit.models import AuditEvent
from platekeeper.hotlists.models import Hotlist, HotlistEntry
from tests.conftest import CONTEXT, Harness
from tests.hotlist_helpers import CSV_HEADER, hotlist_with, ingest, load, make_list, make_read, matcher_of
from tests.test_cli import _cli


def _count(harness: Harness, hotlist_id: int) -> int:
    with harness.database.session() as session:
        return session.scalar(select(func.count(HotlistEntry.id)).where(HotlistEntry.hotlist_id == hotlist_id)) or 0


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "immigration_violator"}, "kind"),
        ({"kind": "parking_scofflaw"}, "kind"),
        ({"source": "NCIC Immigration Violator File"}, "source"),
        ({"refresh_hours": 0}, "refresh_hours"),
    ],
)
def test_create_list_refusals_name_the_field(harness: Harness, body: dict, field: str) -> None:
    manager = harness.signed_in("records_manager")
    base = {"name": "A list", "kind": "stolen_vehicle", "source": "CLETS extract", "refresh_hours": 24}
    response = manager.post("/api/v1/hotlists", json={**base, **body})
    assert response.status_code == 400 and response.json()["detail"].startswith(field)


def test_import_full_then_incremental(harness: Harness) -> None:
    manager, hotlist_id = hotlist_with(
        harness, "5SOW350,CA,VEH,stolen,,HOND,CIV,GRY\n7ABC123,CA,LIC,stolen plate,,,,\n"
    )
    assert _count(harness, hotlist_id) == 2
    listed = manager.get("/api/v1/hotlists").json()["hotlists"][0]
    assert (listed["entries"], listed["stale"], listed["kind"]) == (2, False, "stolen_vehicle")
    assert listed["loaded_at"] is not None
    incremental = load(harness, manager, hotlist_id, CSV_HEADER + "7ABC123,CA,LIC,updated,,,,\n9NEW000,NV,VEH,x,,,,\n",
                       mode="incremental")  # fmt: skip
    assert incremental.json()["loaded"] == 2 and incremental.json()["removed"] == 1
    assert incremental.json()["new_plates"] == 1  # 7ABC123 was on the list already: an update, not a new plate
    assert _count(harness, hotlist_id) == 3
    full = load(harness, manager, hotlist_id, CSV_HEADER + "1ONLY11,CA,VEH,x,,,,\n5SOW350,CA,VEH,x,,,,\n")
    assert full.json() == {"hotlist_id": hotlist_id, "mode": "full", "loaded": 2, "removed": 3, "new_plates": 1}
    assert _count(harness, hotlist_id) == 2
    assert [e.details["loaded"] for e in _events(harness, "hotlists.import")] == [2, 2, 2]
    assert [e.details["new_plates"] for e in _events(harness, "hotlists.import")] == [2, 1, 1]


def test_bad_rows_load_nothing_and_are_reported_by_line(harness: Harness) -> None:
    manager, hotlist_id = hotlist_with(harness, "5SOW350,CA,VEH,stolen,,,,\n")
    bad = (
        CSV_HEADER + "7ABC123,CA,VEH,ok,,,,\n,CA,VEH,no plate,,,,\n8DEF456,California,VEH,x,,,,\n9GHI789,CA,IMM,x,,,,\n"
    )
    response = load(harness, manager, hotlist_id, bad)
    assert response.status_code == 422
    body = response.json()
    assert body["bad_rows"] == 3
    assert [(e["line"], e["message"].split(":")[0]) for e in body["errors"]] == [
        (3, "plate"),
        (4, "state"),
        (5, "kind"),
    ]
    assert "refused by policy" in body["errors"][2]["message"]
    with harness.database.session() as session:
        plates = session.scalars(select(HotlistEntry.plate).where(HotlistEntry.hotlist_id == hotlist_id)).all()
    assert plates == ["5SOW350"]  # the earlier load is untouched; the good row of the bad file is not there
    refused = _events(harness, "hotlists.import_refused")[-1]
    assert refused.outcome == "failure" and refused.details["bad_rows"] == 3


def test_delimiter_and_header_mapping(harness: Harness) -> None:
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager)
    text = "Tag|Plate State|Why|Colour\n5SOW350|CA|stolen|grey\n"
    response = load(harness, manager, hotlist_id, text, delimiter="|", mapping="plate=Tag,state=Plate State,reason=Why",
                    default_kind="stolen_vehicle")  # fmt: skip
    assert response.status_code == 200, response.text
    unknown = load(harness, manager, hotlist_id, text, delimiter="|", mapping="plate=Nope")
    assert unknown.status_code == 400 and "Nope" in unknown.json()["detail"]


def test_fixed_width_import(harness: Harness) -> None:
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager)
    line = "VEH" + "5SOW350".ljust(10) + "CA" + "V123456789" + "HOND" + "CIV" + "GRY".ljust(7) + "STOLEN".ljust(20)
    future = (datetime.now(UTC) + timedelta(days=60)).strftime("%Y%m%d")
    response = load(harness, manager, hotlist_id, f"{line}{future}\n{line}        \n", format="fixed")
    assert response.status_code == 200, response.text
    reader = harness.signed_in("sworn_officer")
    entries = reader.get(f"/api/v1/hotlists/{hotlist_id}/entries", params=CONTEXT).json()["entries"]
    assert {(e["plate"], e["state"], e["nic"], e["make"], e["color"], e["reason"]) for e in entries} == {
        ("5SOW350", "CA", "V123456789", "HOND", "GRY", "STOLEN")
    }
    assert sorted(bool(e["expires_at"]) for e in entries) == [False, True]


def test_entries_are_plate_data(harness: Harness) -> None:
    _, hotlist_id = hotlist_with(harness, "5SOW350,CA,VEH,stolen,,,,\n")
    officer = harness.signed_in("sworn_officer", "dana")
    assert officer.get(f"/api/v1/hotlists/{hotlist_id}/entries").status_code == 400
    assert _events(harness, "hotlists.access_refused")[-1].details["attempted"] == "hotlists.entries_view"
    assert officer.get(f"/api/v1/hotlists/{hotlist_id}/entries", params=CONTEXT).json()["total"] == 1
    assert _events(harness, "hotlists.entries_view")[-1].case_number == CONTEXT["case_number"]
    assert harness.signed_in("parking_animal_control").get(f"/api/v1/hotlists/{hotlist_id}/entries").status_code == 403


def test_officer_entry_expiry_and_historical_hits(harness: Harness) -> None:
    _, key = harness.camera("Unit 7", "mobile")
    old = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    ingest(harness, key, make_read("8ZZZ100", captured_at=old), make_read("8ZZZ1OO"), make_read("8ZZZ101"))
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager, "Officer entries", "custom", None)
    officer = harness.signed_in("sworn_officer", "dana")
    too_late = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    refused = officer.post(
        f"/api/v1/hotlists/{hotlist_id}/entries", params=CONTEXT, json={"plate": "8ZZZ100", "expires_at": too_late}
    )
    assert refused.status_code == 400 and "30 days" in refused.json()["detail"]
    no_context = officer.post(f"/api/v1/hotlists/{hotlist_id}/entries", json={"plate": "8ZZZ100"})
    assert no_context.status_code == 400
    added = officer.post(
        f"/api/v1/hotlists/{hotlist_id}/entries",
        params=CONTEXT,
        json={"plate": "8zzz-100", "state": "CA", "make": "FORD"},
    )
    assert added.status_code == 201, added.text
    body = added.json()
    expires = datetime.fromisoformat(body["entry"]["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert body["entry"]["entered_by"] == "dana" and body["entry"]["kind"] == "custom"
    assert sorted(h["plate"] for h in body["historical_hits"]) == ["8ZZZ100", "8ZZZ1OO"]
    search = _events(harness, "hotlists.historical_search")[-1]
    assert (search.username, search.purpose, search.details["results"]) == ("dana", CONTEXT["purpose"], 2)
    matcher_of(harness).wait()
    ingest(harness, key, make_read("8ZZZ100"))
    assert [a["plate"] for a in officer.get("/api/v1/alerts").json()["alerts"]] == ["8ZZZ100"]


def test_stale_list_flags_alerts_and_dashboard(harness: Harness) -> None:
    _, _hotlist_id = hotlist_with(harness, "5SOW350,CA,VEH,stolen,,,,\n")
    with harness.database.session() as session:
        session.execute(update(Hotlist).values(loaded_at=datetime.now(UTC) - timedelta(hours=30)))
    assert harness.signed_in("sworn_officer").get("/api/v1/hotlists").json()["hotlists"][0]["stale"] is True
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350"))
    officer = harness.signed_in("sworn_officer")
    assert officer.get("/api/v1/alerts").json()["alerts"][0]["list_stale"] is True
    page = officer.get("/alerts")
    assert page.status_code == 200 and "is stale" in page.text and "NCIC stolen" in page.text


def test_expired_entries_do_not_match(harness: Harness) -> None:
    _, _hotlist_id = hotlist_with(harness, "5SOW350,CA,VEH,stolen,,,,\n")
    with harness.database.session() as session:
        session.execute(update(HotlistEntry).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        session.execute(update(Hotlist).values(revision=Hotlist.revision + 1))
    matcher = matcher_of(harness)
    matcher.build()
    _, key = harness.camera()
    ingest(harness, key, make_read("5SOW350"))
    assert harness.signed_in("sworn_officer").get("/api/v1/alerts").json()["alerts"] == []


@pytest.mark.slow
def test_cli_import_and_watch_folder(tmp_path: Path, database_url: str) -> None:
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    created = _cli(tmp_path, database_url, "hotlists", "create", "NCIC stolen", "--kind", "stolen_vehicle",
                   "--source", "CLETS daily extract")  # fmt: skip
    assert created.returncode == 0, created.stderr
    good = tmp_path / "good.csv"
    good.write_text(CSV_HEADER + "5SOW350,CA,VEH,stolen,,,,\n7ABC123,CA,VEH,stolen,,,,\n")
    loaded = _cli(tmp_path, database_url, "hotlists", "import", str(good), "--list", "NCIC stolen")
    assert loaded.returncode == 0 and "loaded 2 entries" in loaded.stdout, loaded.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV_HEADER + "1AAA111,CA,VEH,x,,,,\n2BBB222,CA,IVF,x,,,,\n")
    refused = _cli(
        tmp_path, database_url, "hotlists", "import", str(bad), "--list", "NCIC stolen", "--mode", "incremental"
    )
    assert refused.returncode == 2 and "line 3: kind" in refused.stderr and "nothing was loaded" in refused.stderr
    watch = tmp_path / "watch"
    watch.mkdir()
    (watch / "NCIC stolen.csv").write_text(CSV_HEADER + "9WATCH9,CA,VEH,x,,,,\n")
    (watch / "Unknown list.csv").write_text(CSV_HEADER + "9WATCH9,CA,VEH,x,,,,\n")
    refreshed = _cli(tmp_path, database_url, "hotlists", "refresh-watch", "--folder", str(watch))
    assert refreshed.returncode == 1
    assert "NCIC stolen.csv: loaded 1 entries" in refreshed.stdout and "Unknown list.csv: REFUSED" in refreshed.stdout
    assert len(list((watch / "loaded").iterdir())) == 1 and len(list((watch / "refused").iterdir())) == 2
    listed = _cli(tmp_path, database_url, "hotlists", "list")
    assert "NCIC stolen" in listed.stdout and " 1 " in listed.stdout and "current" in listed.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hotlists": {"kinds": [{"code": "immigration_violator", "label": "Immigration violators"}]}}, "refused"),
        ({"hotlists": {"officer_entry_days": 45}}, "officer_entry_days"),
        ({"alerts": {"clets_reference_pattern": "(["}}, "clets_reference_pattern"),
        ({"matching": {"confusable_pairs": ["O"]}}, "confusable_pairs"),
    ],
)
def test_policy_config_refuses_bad_hotlist_settings(overrides: dict, message: str) -> None:
    from platekeeper.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_matcher_keeps_matching_while_a_reload_runs(harness: Harness) -> None:
    """Lists reload without stopping ingest: the old index answers until the new one is swapped in."""
    manager, hotlist_id = hotlist_with(harness, "5SOW350,CA,VEH,stolen,,,,\n")
    matcher = matcher_of(harness)
    with harness.database.session() as session:
        old = matcher.current(session)
    load(harness, manager, hotlist_id, CSV_HEADER + "6NEW666,CA,VEH,x,,,,\n")  # commits, then rebuilds in background
    matcher.wait()
    with harness.database.session() as session:
        new = matcher.current(session)
    assert new is not old and len(new) == 1 and new.targets[0].plate == "6NEW666"
    assert old.targets[0].plate == "5SOW350"  # an index is immutable: ingest holding it was never disturbed
