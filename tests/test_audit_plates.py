"""Plate text in the audit log (issue 21, item 3): the seal covers a keyed digest of each plate an event carries,
the text sits in a side table that forgetting empties after ``audit.plate_detail_days``, and the chain still
verifies and is still searchable by plate afterwards."""

from __future__ import annotations

import csv
import io
import json
import typing
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from platekeeper.audit.events import EVENT_TYPES, AuditEventType, ReadCorrected, ReadsSearched
from platekeeper.audit.models import AuditEvent, AuditPlateText
from platekeeper.audit.plates import count_plate_texts_due, forget_plate_texts, normalize_plate, plate_digest
from platekeeper.audit.service import AuditFilter, list_events, record_event, verify_chain
from platekeeper.config import ConfigError, load_settings
from platekeeper.db import Database, utcnow
from tests.conftest import CONTEXT, Harness
from tests.test_audit import ACTOR

KEY = b"p" * 64
PLATE_WORDS = ("plate", "matched_text", "pattern")


def _search(plate: str | None = "7ABC123", wildcard: bool = False) -> ReadsSearched:
    return ReadsSearched(
        plate=plate, wildcard=wildcard, since=None, until=None, cameras=[], page=1, results=0, thumbnails=False
    )


def _record(database: Database, *events: AuditEventType) -> list[int]:
    with database.session() as session:
        return [record_event(session, KEY, event, ACTOR, case_number="2026-000001").seq for event in events]


def _verify(database: Database):
    with database.session() as session:
        return verify_chain(session, KEY)


def _side_rows(database: Database) -> list[AuditPlateText]:
    with database.session() as session:
        return list(session.scalars(select(AuditPlateText).order_by(AuditPlateText.seq, AuditPlateText.field)))


def _by_plate(database: Database, plate: str) -> list[int]:
    with database.session() as session:
        flt = AuditFilter(plate=normalize_plate(plate)).keyed(KEY)
        return [e.seq for e in list_events(session, flt, offset=0, limit=100)]


def test_every_field_that_can_hold_plate_text_is_declared() -> None:
    """A new event with a plate-like field (a str named like a plate, a pattern or a matched text, or a query that
    may carry one) fails here until it lists the field in ``plate_fields``."""
    for cls in EVENT_TYPES:
        declared = set(cls.plate_fields)
        stored = {info.alias or name: info.annotation for name, info in cls.model_fields.items()}
        for path in declared:
            assert path.split(".", 1)[0] in stored, f"{cls.action}: plate field {path!r} is not a field"
        for key, annotation in stored.items():
            texts = str in typing.get_args(annotation) or annotation is str
            if texts and any(word in key for word in PLATE_WORDS):
                assert key in declared, f"{cls.action}: field {key!r} may hold plate text; add it to plate_fields"
            if key == "query":
                assert "query.plate" in declared, f"{cls.action}: its query may carry a plate"
    assert set(ReadCorrected.plate_fields) == {"plate", "corrected_plate"}


def test_the_digest_is_keyed_and_over_the_normalized_text() -> None:
    assert normalize_plate(" 7abc-123 ") == "7ABC123"
    assert plate_digest(KEY, "7abc 123") == plate_digest(KEY, "7ABC123")
    assert plate_digest(KEY, "7ABC123") != plate_digest(b"q" * 64, "7ABC123")  # no key, no dictionary attack
    assert plate_digest(KEY, "7AB*") != plate_digest(KEY, "7AB")  # a pattern is digested as its pattern


def test_a_search_stores_no_plate_text_in_the_sealed_details(database: Database) -> None:
    (seq,) = _record(database, _search("7abc123"))
    with database.session() as session:
        event = session.get(AuditEvent, seq)
        assert event is not None
        assert event.details["plate"] == {"digest": plate_digest(KEY, "7ABC123")}
        assert "7ABC123" not in json.dumps(event.details).upper()
    (row,) = _side_rows(database)
    assert (row.seq, row.field, row.text, row.digest) == (seq, "plate", "7abc123", plate_digest(KEY, "7ABC123"))
    assert row.occurred_at == event.occurred_at
    assert _verify(database).intact


def test_no_plate_no_side_row_and_both_plates_of_a_correction(database: Database) -> None:
    correction = ReadCorrected(read_id="r1", plate="5SOW35O", corrected_plate="5SOW350", unreadable=False)
    _record(database, _search(None), correction)
    assert [(r.seq, r.field, r.text) for r in _side_rows(database)] == [
        (2, "corrected_plate", "5SOW350"),
        (2, "plate", "5SOW35O"),
    ]
    assert _verify(database).intact


def test_forgetting_keeps_the_digest_the_chain_and_the_search_by_plate(database: Database) -> None:
    seqs = _record(database, _search("7ABC123"), _search("7AB*", wildcard=True), _search("5SOW350"))
    assert _by_plate(database, "7abc123") == [seqs[0]] and _by_plate(database, "7AB*") == [seqs[1]]
    later = utcnow() + timedelta(seconds=1)
    with database.session() as session:
        assert count_plate_texts_due(session, later) == 3  # what a dry run reports
        assert forget_plate_texts(session, later, limit=2) == 2  # at most `limit` rows a call
    with database.session() as session:
        assert forget_plate_texts(session, later, limit=2) == 1
    with database.session() as session:
        assert forget_plate_texts(session, later, limit=2) == 0  # idempotent
    assert [r.text for r in _side_rows(database)] == [None, None, None]
    with database.session() as session:
        assert count_plate_texts_due(session, later) == 0
    assert all(r.digest for r in _side_rows(database))
    result = _verify(database)
    assert result.intact and result.checked == 3
    assert _by_plate(database, "7ABC123") == [seqs[0]]  # "who searched for this plate?" still answered
    assert _by_plate(database, "7AB*") == [seqs[1]] and _by_plate(database, "7ABC124") == []


def test_forgetting_leaves_younger_texts(database: Database) -> None:
    _record(database, _search("7ABC123"))
    with database.session() as session:
        assert forget_plate_texts(session, utcnow() - timedelta(days=1), limit=100) == 0
    assert [r.text for r in _side_rows(database)] == ["7ABC123"]


def _unguard(database: Database) -> None:
    """What someone with DDL rights would do first: drop the side table's forget-only guard."""
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_plate_texts_forget_only ON audit_plate_texts"))
        else:
            conn.execute(text("DROP TRIGGER audit_plate_texts_forget_only"))


def test_the_side_table_refuses_anything_but_forgetting(database: Database) -> None:
    (seq,) = _record(database, _search("7ABC123"))
    for statement in (
        "UPDATE audit_plate_texts SET text = '7ABC124'",
        "UPDATE audit_plate_texts SET digest = 'x'",
        "DELETE FROM audit_plate_texts",
    ):
        with pytest.raises(Exception, match="audit_plate_texts"), database.engine.begin() as conn:
            conn.execute(text(statement))
    with database.session() as session:
        assert forget_plate_texts(session, utcnow() + timedelta(seconds=1), limit=10) == 1
    assert _side_rows(database)[0].seq == seq


@pytest.mark.parametrize("change", ["text", "digest", "delete"])
def test_a_tampered_side_row_is_named_by_verify(database: Database, change: str) -> None:
    seqs = _record(database, _search("7ABC123"), _search("5SOW350"), _search("7ABC125"))
    _unguard(database)
    statement = {
        "text": "UPDATE audit_plate_texts SET text = '7ABC999' WHERE seq = :seq",
        "digest": "UPDATE audit_plate_texts SET digest = :digest, text = '7ABC999' WHERE seq = :seq",
        "delete": "DELETE FROM audit_plate_texts WHERE seq = :seq",
    }[change]
    if change == "delete" and database.dialect == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_plate_texts_no_delete ON audit_plate_texts"))
    elif change == "delete":
        with database.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_plate_texts_no_delete"))
    with database.engine.begin() as conn:
        conn.execute(text(statement), {"seq": seqs[1], "digest": plate_digest(KEY, "7ABC999")})
    result = _verify(database)
    assert not result.intact and result.first_bad_seq == seqs[1], result
    assert result.reason and "plate" in result.reason


def _period(harness: Harness) -> tuple[str, str]:
    today = datetime.now(harness.settings.tz).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


def test_pages_api_and_exports_show_the_text_then_the_forgotten_marker(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "dana")
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7abc123"}).status_code == 200
    auditor = harness.signed_in("records_manager", "lee")  # a custodian: the role reaches plate data, unmasked
    since, until = _period(harness)

    def shown() -> tuple[str, dict, dict, dict]:
        page = auditor.get("/audit", params={"plate": "7ABC123"}).text
        (api,) = auditor.get("/api/v1/audit/events", params={"plate": "7ABC123"}).json()["events"]
        params = {"since": since, "until": until, "action": "reads.search"}
        (line,) = auditor.get("/api/v1/audit/export", params={**params, "format": "jsonl"}).text.splitlines()
        rows = list(csv.DictReader(io.StringIO(auditor.get("/api/v1/audit/export", params=params).text)))
        return page, api, json.loads(line), json.loads(rows[0]["plate_texts"])

    page, api, line, cell = shown()
    assert "<b>Plate:</b> 7ABC123" in page
    assert api["plate_texts"] == line["plate_texts"] == cell == {"plate": "7ABC123"}
    assert line["details"]["plate"] == {"digest": plate_digest(harness.key, "7ABC123")}  # the sealed details
    with harness.database.session() as session:
        assert forget_plate_texts(session, utcnow() + timedelta(seconds=1), limit=1000) >= 1
    marker = "(forgotten after 730 days)"
    page, api, line, cell = shown()
    assert f"<b>Plate:</b> {marker}" in page and "7ABC123</span>" not in page
    assert api["plate_texts"] == line["plate_texts"] == cell == {"plate": marker}
    masked = harness.signed_in("auditor")  # the marker, not a mask of it; and nothing left to reveal
    (seen,) = masked.get("/api/v1/audit/events", params={"action": "reads.search"}).json()["events"]
    assert seen["plate_texts"] == {"plate": marker}
    reason = "complaint 2026-17 says this search targeted a neighbour"
    gone = masked.post(f"/api/v1/audit/events/{seen['seq']}/reveal", json={"field": "plate", "reason": reason})
    assert gone.status_code == 409 and "forgotten" in gone.json()["problems"]["field"]
    verified = auditor.post("/audit/verify", data={"csrf_token": auditor.headers["X-CSRF-Token"]})
    assert verified.status_code == 200 and "intact" in verified.text.lower()


def test_plate_detail_days_is_bounded_and_never_shorter_than_retention() -> None:
    assert load_settings().audit.plate_detail_days == 730
    with pytest.raises(ConfigError, match=r"audit\.plate_detail_days.*retention\.days"):
        load_settings(retention={"days": 400}, audit={"plate_detail_days": 365})
    assert load_settings(retention={"days": 400}, audit={"plate_detail_days": 400}).audit.plate_detail_days == 400
    for bad in (29, 3651):
        with pytest.raises(ConfigError, match="plate_detail_days"):
            load_settings(retention={"days": 30}, audit={"plate_detail_days": bad})
