"""The audit chain: append-only in the database, and any direct change, deletion or insertion is detected."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from platekeeper.audit.events import REGISTRY, ReadsSearched
from platekeeper.audit.service import (
    AUDIT_ACTIONS,
    Actor,
    UnknownAuditAction,
    checked_details,
    load_or_create_key,
    record_event,
    verify_chain,
)
from platekeeper.db import Database
from tests.test_audit_events import sample_event

KEY = b"k" * 64
ACTOR = Actor(username="officer1", organization="EXPD", role="sworn_officer", client="127.0.0.1")


def _fill(database: Database, count: int) -> None:
    with database.session() as session:
        for i in range(count):
            record_event(
                session,
                KEY,
                ReadsSearched(
                    plate=f"7ABC{i:03d}",
                    wildcard=False,
                    since=None,
                    until=None,
                    cameras=[],
                    page=1,
                    results=0,
                    thumbnails=False,
                ),
                ACTOR,
                purpose="crime_analysis",
                case_number=f"2026-{i:06d}",
                justification="pattern analysis of thefts",
            )


def _drop_guards(database: Database) -> None:
    """What an attacker with DDL rights would do first: remove the append-only triggers, and the plate texts'
    forget-only ones (their rows follow an event deleted or renumbered: the foreign key cascades)."""
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))
            conn.execute(text("DROP TRIGGER audit_plate_texts_forget_only ON audit_plate_texts"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            conn.execute(text("DROP TRIGGER audit_plate_texts_forget_only"))
            conn.execute(text("DROP TRIGGER audit_plate_texts_no_delete"))


def _verify(database: Database):
    with database.session() as session:
        return verify_chain(session, KEY)


def test_intact_chain_verifies(database: Database) -> None:
    _fill(database, 5)
    result = _verify(database)
    assert result.intact and result.checked == 5


def test_database_refuses_update_and_delete(database: Database) -> None:
    _fill(database, 2)
    for statement in ("UPDATE audit_events SET username = 'x' WHERE seq = 1", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(statement))
    if database.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events, audit_plate_texts"))
        with pytest.raises(DBAPIError, match="referenced in a foreign key"), database.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events"))  # alone: refused before its trigger, by the plate texts' key
    assert _verify(database).checked == 2


@pytest.mark.parametrize(
    ("statement", "first_bad_seq", "reason"),
    [
        ("UPDATE audit_events SET purpose = 'wanted_person' WHERE seq = 3", 3, "changed"),
        ("DELETE FROM audit_events WHERE seq = 2", 3, "gap"),
    ],
    ids=["changed", "deleted"],
)
def test_changed_or_deleted_row_is_named(database: Database, statement: str, first_bad_seq: int, reason: str) -> None:
    _fill(database, 5)
    _drop_guards(database)
    with database.engine.begin() as conn:
        conn.execute(text(statement))
    result = _verify(database)
    assert result.first_bad_seq == first_bad_seq
    assert reason in (result.reason or "")


def test_inserted_row_is_named(database: Database) -> None:
    _fill(database, 3)
    with database.engine.begin() as conn:
        last = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 3")).scalar()
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, occurred_at, action, outcome, details, prev_hash, hash) "
                "VALUES (4, :at, 'reads.search', 'success', '{}', :prev, :hash)"
            ),
            {"at": "2026-01-01 00:00:00", "prev": last, "hash": "f" * 64},
        )
    result = _verify(database)
    assert result.first_bad_seq == 4


def test_renumbered_rows_are_detected(database: Database) -> None:
    _fill(database, 4)
    _drop_guards(database)
    with database.engine.begin() as conn:  # hide a deletion by closing the gap
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        conn.execute(text("UPDATE audit_events SET seq = seq - 1 WHERE seq > 2"))
    assert _verify(database).first_bad_seq == 2


def test_unregistered_action_is_refused(database: Database) -> None:
    with pytest.raises(UnknownAuditAction), database.session() as session:
        record_event(session, KEY, "reads.export_everything", ACTOR)  # type: ignore[arg-type]
    with pytest.raises(UnknownAuditAction):
        checked_details("reads.export_everything")  # type: ignore[arg-type]


def test_key_file_is_private_and_stable(tmp_path) -> None:
    path = tmp_path / "audit.key"
    first = load_or_create_key(path)
    assert load_or_create_key(path) == first
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actions=st.lists(st.sampled_from(sorted(AUDIT_ACTIONS)), min_size=1, max_size=12),
    victim=st.integers(min_value=0),
    field=st.sampled_from(["username", "case_number", "outcome", "action"]),
)
def test_any_single_change_is_found_at_its_row(database: Database, actions: list[str], victim: int, field: str) -> None:
    with database.engine.begin() as conn:  # each example starts from an empty log
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_plate_texts_no_delete"))  # the cascade deletes its rows
        conn.execute(text("DELETE FROM audit_events"))
    with database.session() as session:
        for action in actions:
            record_event(session, KEY, sample_event(REGISTRY[action]), ACTOR, case_number="2026-000001")
    assert _verify(database).intact
    seq = victim % len(actions) + 1
    _drop_guards_sqlite_update(database)
    with database.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_events SET {field} = 'tampered' WHERE seq = :seq"), {"seq": seq})
    assert _verify(database).first_bad_seq == seq


def _drop_guards_sqlite_update(database: Database) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
