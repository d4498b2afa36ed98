"""Audit events are declared types: every action has one, details that do not match it are refused before anything
is written, the audit page shows labelled fields, docs/audit-events.md is the registry, and only services record."""

from __future__ import annotations

import ast
import json
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from platekeeper.audit.events import (
    EVENT_TYPES,
    REGISTRY,
    AlertsDashboardOpened,
    AuditEventType,
    HotlistHistoricalSearch,
    InvalidAuditEvent,
    PasswordChanged,
    UserApproved,
    UserCreated,
    UserRoleChanged,
    events_markdown,
    labelled_details,
)
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import (
    AUDIT_ACTIONS,
    Actor,
    AuditFilter,
    UnknownAuditAction,
    record_event,
    verify_chain,
)
from platekeeper.db import Database
from tests.conftest import Harness

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "platekeeper"
KEY = b"k" * 64
ACTOR = Actor(username="admin1", organization="EXPD", role="admin", client="127.0.0.1")


def _sample(annotation: Any) -> Any:
    """A value of the declared type (the first member of a union that is not None)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _sample(members[0])
    origin = typing.get_origin(annotation)
    if origin is list:
        return [_sample(typing.get_args(annotation)[0])]
    if origin is dict:
        return {"key": _sample(typing.get_args(annotation)[1])}
    samples = {str: "text", int: 7, bool: True, datetime: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    return samples.get(annotation, "any")


def sample_event(cls: type[AuditEventType]) -> AuditEventType:
    """An event of this type with every field given."""
    return cls(**{name: _sample(info.annotation) for name, info in cls.model_fields.items()})


def _count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count(AuditEvent.seq))) or 0


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_action_has_one_declared_type_with_labelled_fields() -> None:
    assert len(REGISTRY) == len(EVENT_TYPES) == len(AUDIT_ACTIONS) == 106
    assert list(AUDIT_ACTIONS) == [cls.action for cls in EVENT_TYPES]
    declared = {cls for cls in _all_subclasses(AuditEventType) if "action" in vars(cls)}
    assert declared == set(EVENT_TYPES), "an event type with an action is missing from EVENT_TYPES"
    for cls in EVENT_TYPES:
        assert cls.description() == AUDIT_ACTIONS[cls.action] and cls.description().endswith(".")
        for name, info in cls.model_fields.items():
            assert info.title, f"{cls.action}: field {name} has no label"


def test_every_declared_type_records_and_the_chain_verifies(database: Database) -> None:
    with database.session() as session:
        for cls in EVENT_TYPES:
            row = record_event(session, KEY, sample_event(cls), ACTOR)
            assert row.action == cls.action and set(row.details) == set(cls.labels())
    with database.session() as session:
        assert verify_chain(session, KEY).checked == len(EVENT_TYPES)


@pytest.mark.parametrize(
    ("details", "field", "why"),
    [
        ({"username": "dana", "role": "admin", "requested_by": "lee", "approver": "x"}, "approver", "unknown field"),
        ({"username": "dana", "role": "admin"}, "requested_by", "field required"),
        ({"username": "dana", "role": 3, "requested_by": "lee"}, "role", "valid string"),
        ({"username": "dana", "role": "admin", "requested_by": True}, "requested_by", "valid string"),
    ],
)
def test_details_that_do_not_match_are_refused_naming_action_and_field(
    database: Database, details: dict[str, Any], field: str, why: str
) -> None:
    with pytest.raises(InvalidAuditEvent) as refused, database.session() as session:
        record_event(session, KEY, UserApproved.from_details(details), ACTOR)
    message = str(refused.value)
    assert "'users.approve'" in message and f"'{field}'" in message and why in message
    assert _count(database) == 0


def test_an_event_built_without_validation_is_refused_before_writing(database: Database) -> None:
    forged = UserApproved.model_construct(username="dana", role=["admin"], requested_by="lee")
    with pytest.raises(InvalidAuditEvent, match=r"'users\.approve'.*'role'"), database.session() as session:
        record_event(session, KEY, forged, ACTOR)
    assert _count(database) == 0


def test_an_undeclared_type_is_refused(database: Database) -> None:
    class ExportEverything(AuditEventType):
        """Not declared in the registry."""

        action: typing.ClassVar[str] = "reads.export_everything"

    with pytest.raises(UnknownAuditAction), database.session() as session:
        record_event(session, KEY, ExportEverything(), ACTOR)
    assert _count(database) == 0


def test_stored_details_keep_todays_keys_and_values(database: Database) -> None:
    """The stored form is what the free-form dicts held: same keys (``from``, ``to``), optional keys left out."""
    role = UserRoleChanged(
        username="dana",
        from_role="analyst",
        to_role="admin",
        gained=["users.manage"],
        status="requested",
        sessions_ended=1,
    )
    assert role.details() == {
        "username": "dana",
        "from": "analyst",
        "to": "admin",
        "gained": ["users.manage"],
        "status": "requested",
        "sessions_ended": 1,
    }
    assert PasswordChanged(reason="wrong current").details() == {"reason": "wrong current"}
    assert PasswordChanged(other_sessions_ended=0).details() == {"other_sessions_ended": 0}
    created = UserCreated(username="dana", role="analyst", organization="EXPD", status="requested")
    assert "approved_by" not in created.details()
    assert AlertsDashboardOpened(stream=True).details() == {"stream": True}
    assert AlertsDashboardOpened(stream=True, replay_after=5).details() == {"stream": True, "replay_after": 5}
    scan = {"since": "2026-01-01", "entries_searched": 1, "reads_searched": 2, "reads_examined": 2}
    scan |= {"prefiltered": False, "results": 0, "kept": 0}
    entry = HotlistHistoricalSearch(hotlist_id=1, entry_id=2, plate="7ABC123", **scan)
    assert entry.details() == {"hotlist_id": 1, "entry_id": 2, "plate": "7ABC123", **scan}
    since = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    flt = AuditFilter(username="dana", action="auth.sign_in", since=since)
    with database.session() as session:
        from platekeeper.audit.events import AuditViewed

        row = record_event(session, KEY, AuditViewed(**flt.describe(), page=2), ACTOR)
        today = json.loads(json.dumps({**flt.describe(), "page": 2}, default=str, sort_keys=True))
        assert row.details == today and row.details["since"] == "2026-03-01 08:00:00+00:00"


def test_labelled_details_for_people() -> None:
    role = UserRoleChanged(
        username="dana", from_role="analyst", to_role="admin", gained=["a", "b"], status="active", sessions_ended=0
    )
    assert labelled_details("users.role_change", role.details()) == [
        ("Account", "dana"),
        ("From role", "analyst"),
        ("To role", "admin"),
        ("Permissions gained", "a, b"),
        ("Status", "active"),
        ("Sessions ended", "0"),
    ]
    stored = {"first": True, "changes": {"admin": {"added": ["x"]}}, "policy": {}, "old_key": None, "extra": 1}
    assert labelled_details("access.policy_changed", stored) == [
        ("Changes / Admin / Added", "x"),
        ("Policy now enforced", ""),
        ("First record", "yes"),
        ("Extra", "1"),
    ]


def test_audit_page_shows_labelled_fields(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    auditor = harness.signed_in("auditor", "lee")
    page = auditor.get("/audit", params={"action": "users.create", "username": ""})
    assert page.status_code == 200
    assert "<b>Account:</b> dana" in page.text and "<b>Role:</b> sworn_officer" in page.text
    assert "<b>username" not in page.text and "{&#39;" not in page.text and "{'" not in page.text
    api = auditor.get("/api/v1/audit/events", params={"action": "users.create"}).json()
    assert any(e["details"].get("username") == "dana" for e in api["events"])  # the API keeps the raw details


def test_docs_list_every_event_as_the_registry_declares() -> None:
    doc = (ROOT / "docs" / "audit-events.md").read_text()
    assert doc == events_markdown(), "run: python -m platekeeper.audit.events > docs/audit-events.md"
    for cls in EVENT_TYPES:
        assert f"## `{cls.action}`" in doc
    assert "audit-events.md" in (ROOT / "docs" / "architecture.md").read_text()


def _is_route_module(path: Path) -> bool:
    """A route, a page or a command: each calls a service, which records the event."""
    relative = path.relative_to(SRC)
    return relative.parts[0] == "web" or path.stem in {"api", "pages", "admin_api", "admin_pages", "cli", "cli_support"}


def test_only_services_record_events() -> None:
    """Routes, pages and commands call a service function, which records the event in the same transaction (with
    ``record_event`` or the unit of work's ``Work.record``)."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if not _is_route_module(path):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record":
                on_self = isinstance(node.func.value, ast.Name) and node.func.value.id == "self"  # ErrorLog.record
                names = [] if on_self else ["record_event"]  # Work.record(): the same append, as the work's actor
            if "record_event" in names:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == [], f"record_event or Work.record outside the services: {offenders}"
    assert any(_is_route_module(p) for p in SRC.rglob("api.py")) and (SRC / "web").is_dir()
