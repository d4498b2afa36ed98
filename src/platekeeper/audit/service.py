"""Writing, reading and verifying the audit log.

Each event is sealed with HMAC-SHA256 over its canonical JSON, including the hash of the event before it, under a
key kept outside the database (``data_dir/audit.key``). Changing, deleting or inserting a row directly in the
database therefore breaks the chain at that row, and :func:`verify_chain` names it. Appends are serialized (an
advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and ``prev_hash`` is unique, so the chain cannot fork.
The plates an event carries are sealed as keyed digests, their text kept beside it (:mod:`platekeeper.audit.plates`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import Session

from platekeeper.audit.events import (
    EVENT_TYPES,
    REGISTRY,
    AuditEventType,
    InvalidAuditEvent,
)
from platekeeper.audit.models import AuditEvent, AuditPlateText
from platekeeper.audit.plates import (
    LOOKUP_FIELDS,
    check_plate_texts,
    digest_plates,
    plate_digest,
    plate_rows,
    write_plate_texts,
)
from platekeeper.db import utcnow

__all__ = [
    "AUDIT_ACTIONS",
    "GENESIS_HASH",
    "Actor",
    "AnchorCheck",
    "AuditFilter",
    "ChainVerification",
    "Identity",
    "InvalidAuditEvent",
    "UnknownAuditAction",
    "chain_head",
    "checked_details",
    "count_by_purpose",
    "count_events",
    "event_fields",
    "event_hashes",
    "iter_event_batches",
    "iter_events",
    "list_events",
    "load_or_create_key",
    "record_event",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
ADVISORY_LOCK_ID = 462_0006  # any constant shared by every writer of the chain
VERIFY_BATCH = 2000

AUDIT_ACTIONS: dict[str, str] = {cls.action: cls.description() for cls in EVENT_TYPES}
"""Every registered action with its description (the declared types are in :mod:`platekeeper.audit.events`)."""


class UnknownAuditAction(ValueError):
    """An event kind that is not registered in :data:`platekeeper.audit.events.REGISTRY`."""


class Identity(Protocol):
    """Whatever names a person in the audit log (``Principal``, ``User``)."""

    @property
    def username(self) -> str: ...

    @property
    def organization(self) -> str | None: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, or the system itself (username None)."""

    username: str | None
    organization: str | None = None
    role: str | None = None
    client: str | None = None

    @classmethod
    def of(cls, who: Identity, client: str | None = None) -> Actor:
        """A person as the audit log names them: a signed-in principal, a token's owner or a user account, all of
        which carry a username, an organization and a role. The one way every layer builds a person's actor."""
        return cls(username=who.username, organization=who.organization, role=who.role, client=client)

    @classmethod
    def system(cls, client: str = "cli") -> Actor:
        """The system acting on its own (migrations, first start, scheduled jobs)."""
        return cls(username=None, organization=None, role=None, client=client)


def load_or_create_key(path: Path) -> bytes:
    """The chain's HMAC key, created (readable by the owner only) the first time it is needed."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    value = path.read_text().strip()
    if len(value) < 32:
        raise ValueError(f"audit key file {path} is too short; it must hold at least 32 hex characters")
    return value.encode()


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """Every field of an event except its seal: what the seal covers, and what exports show beside ``hash``."""
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "action": event.action,
        "outcome": event.outcome,
        "username": event.username,
        "organization": event.organization,
        "role": event.role,
        "purpose": event.purpose,
        "case_number": event.case_number,
        "justification": event.justification,
        "client": event.client,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }


def _canonical(event: AuditEvent) -> bytes:
    return json.dumps(event_fields(event), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _seal(key: bytes, event: AuditEvent) -> str:
    return hmac.new(key, _canonical(event), hashlib.sha256).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})


def checked_details(event: AuditEventType) -> dict[str, Any]:
    """The event's details as they will be stored, after checking that its type is the registered one for its
    action and that its fields still validate (a model built without validation is refused here too)."""
    action = getattr(event, "action", None)
    if not isinstance(event, AuditEventType) or REGISTRY.get(str(action)) is not type(event):
        raise UnknownAuditAction(
            f"unregistered audit action {action or event!r}: declare it in platekeeper.audit.events"
        )
    return type(event)(**event.__dict__).details()


def record_event(
    session: Session,
    key: bytes,
    event: AuditEventType,
    actor: Actor,
    *,
    outcome: str = "success",
    purpose: str | None = None,
    case_number: str | None = None,
    justification: str | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (so it commits or rolls back with the action).

    ``event`` is a declared type from :mod:`platekeeper.audit.events`; its fields are the stored ``details``. An
    unregistered type raises :class:`UnknownAuditAction`, details that do not match the declared fields raise
    :class:`InvalidAuditEvent`; either before anything is written. Each plate text of the event's ``plate_fields``
    is sealed as its digest, and written to ``audit_plate_texts`` beside the event."""
    details = json.loads(json.dumps(checked_details(event), default=str, sort_keys=True))
    details, plate_texts = digest_plates(key, type(event), details)
    action = event.action
    _lock_chain(session)
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    row = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        occurred_at=utcnow(),
        action=action,
        outcome=outcome,
        username=actor.username,
        organization=actor.organization,
        role=actor.role,
        purpose=purpose,
        case_number=case_number,
        justification=justification,
        client=actor.client,
        details=details,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    row.hash = _seal(key, row)
    session.add(row)
    session.flush()
    if plate_texts:
        write_plate_texts(session, row, plate_texts)
        session.flush()
    return row


@dataclass(frozen=True)
class ChainVerification:
    """The result of walking the chain: how many events were checked and the first bad one, if any; and, when
    signed checkpoints were given, which one the chain matched (``anchor``) or how it fails them."""

    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    anchor: str | None = None
    anchor_problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None and self.anchor_problem is None


AnchorCheck = Callable[[Session], tuple[str | None, str | None]]
"""Compares the chain with signed checkpoints kept outside the database: (what it matched, or the problem)."""


def _check(key: bytes, event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.seq != expected_seq:
        return f"sequence gap: expected event {expected_seq}, found {event.seq} (events deleted?)"
    if event.prev_hash != prev_hash:
        return "prev_hash does not match the event before it (event deleted or inserted?)"
    if not hmac.compare_digest(event.hash, _seal(key, event)):
        return "contents do not match the seal (event changed, or inserted without the key)"
    return None


def verify_chain(session: Session, key: bytes) -> ChainVerification:
    """Walk every event in order and name the first one whose seal or link is wrong, or whose plate texts do not
    match the digests it seals (:func:`platekeeper.audit.plates.check_plate_texts`)."""
    expected, prev_hash, checked = 1, GENESIS_HASH, 0
    for events in iter_event_batches(session):
        texts = plate_rows(session, [e.seq for e in events])
        for event in events:
            problem = _check(key, event, expected, prev_hash) or check_plate_texts(key, event, texts.get(event.seq, {}))
            if problem:
                return ChainVerification(checked=checked, first_bad_seq=event.seq, reason=problem)
            expected, prev_hash, checked = event.seq + 1, event.hash, checked + 1
    return ChainVerification(checked=checked)


def iter_event_batches(
    session: Session, flt: AuditFilter | None = None, *, through_seq: int | None = None, batch: int = VERIFY_BATCH
) -> Iterator[list[AuditEvent]]:
    """The events matching the filter (every one without), oldest first, up to ``through_seq`` when given, in
    batches of ``batch``: one query each, from the last ``seq`` seen, and the session let go of each batch before
    the next, so a walk of the whole log holds one batch in memory."""
    after = 0
    while True:
        query = _filtered(select(AuditEvent), flt or AuditFilter(), through_seq).where(AuditEvent.seq > after)
        rows = list(session.scalars(query.order_by(AuditEvent.seq).limit(batch)))
        if not rows:
            return
        yield rows
        after = rows[-1].seq
        session.expunge_all()


def iter_events(
    session: Session, flt: AuditFilter | None = None, *, through_seq: int | None = None
) -> Iterator[AuditEvent]:
    """The events of :func:`iter_event_batches`, one at a time."""
    for rows in iter_event_batches(session, flt, through_seq=through_seq):
        yield from rows


@dataclass(frozen=True)
class AuditFilter:
    """Filters for the audit log page, API and exports; every field is optional.

    ``plate`` is the plate an event concerns, normalized (:func:`platekeeper.audit.plates.normalize_plate`) and
    matched by its digest (``plate_digest``, set by :meth:`keyed`) against the plate texts' digests, whether the
    text is still kept or not; the event's own plate fields, never an auditor's ``plate_filter``. Events written
    before the digests match by the text in their details (``plate``, or a refused request's ``query.plate``),
    upper-cased. ``case_number`` and ``purpose`` are the event's columns. A
    case number also finds the references that begin with it and a space: ``ALERT-17`` finds the work on alert 17,
    filed as ``ALERT-17 NIC ...``."""

    username: str | None = None
    action: str | None = None
    plate: str | None = None
    case_number: str | None = None
    purpose: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    plate_digest: str | None = None

    def keyed(self, key: bytes) -> AuditFilter:
        """The filter with its plate's digest under the chain's key: what filtering by plate needs."""
        return replace(self, plate_digest=plate_digest(key, self.plate)) if self.plate else self

    def describe(self) -> dict[str, Any]:
        """The filter as audit-log details. The plate goes under ``plate_filter``: a look at the log is not an
        access to the plate's data, and must not turn up when the log is filtered by that plate."""
        return {
            k: v
            for k, v in {
                "username": self.username,
                "action": self.action,
                "plate_filter": self.plate,
                "case_number": self.case_number,
                "purpose": self.purpose,
                "since": self.since,
                "until": self.until,
            }.items()
            if v is not None
        }


def _filtered(query: Select[Any], flt: AuditFilter, through_seq: int | None = None) -> Select[Any]:
    if flt.username:
        query = query.where(AuditEvent.username == flt.username)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.plate:
        query = query.where(_concerns_plate(flt))
    if flt.case_number:  # the case itself, or an alert's reference by its first word: ALERT-17 finds "ALERT-17 NIC ..."
        case = flt.case_number.upper()
        prefix = case.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
        query = query.where(or_(AuditEvent.case_number == case, AuditEvent.case_number.like(prefix, escape="\\")))
    if flt.purpose:
        query = query.where(AuditEvent.purpose == flt.purpose)
    if flt.since:
        query = query.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.occurred_at < flt.until)
    if through_seq is not None:
        query = query.where(AuditEvent.seq <= through_seq)
    return query


def _concerns_plate(flt: AuditFilter) -> Any:
    if flt.plate_digest is None:
        raise ValueError("a filter by plate is matched by the plate's digest: pass AuditFilter.keyed(key)")
    plate = (flt.plate or "").upper()
    digested = select(AuditPlateText.seq).where(
        AuditPlateText.digest == flt.plate_digest, AuditPlateText.field.not_in(sorted(LOOKUP_FIELDS))
    )
    return or_(
        AuditEvent.seq.in_(digested),
        func.upper(AuditEvent.details["plate"].as_string()) == plate,  # events written before the digests
        func.upper(AuditEvent.details[("query", "plate")].as_string()) == plate,
    )


def list_events(session: Session, flt: AuditFilter, *, offset: int, limit: int) -> list[AuditEvent]:
    """Events matching the filter, newest first."""
    query = _filtered(select(AuditEvent), flt).order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))


def count_events(session: Session, flt: AuditFilter, *, through_seq: int | None = None) -> int:
    """How many events match the filter (up to ``through_seq`` when given)."""
    return session.scalar(_filtered(select(func.count(AuditEvent.seq)), flt, through_seq)) or 0


def chain_head(session: Session) -> tuple[int, str] | None:
    """The newest event's ``seq`` and ``hash``; None for an empty chain."""
    row = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return (int(row.seq), str(row.hash)) if row else None


def event_hashes(session: Session, seqs: list[int]) -> dict[int, str]:
    """The stored ``hash`` of each of these events that exists."""
    found: dict[int, str] = {}
    for start in range(0, len(seqs), VERIFY_BATCH):
        batch = seqs[start : start + VERIFY_BATCH]
        rows = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(batch)))
        found.update({int(r.seq): str(r.hash) for r in rows})
    return found


def count_by_purpose(session: Session, action: str, since: datetime) -> dict[str, int]:
    """How many events of ``action`` succeeded since ``since``, by the purpose they stated (aggregates only: the
    public transparency page's searches by purpose)."""
    rows = session.execute(
        select(AuditEvent.purpose, func.count(AuditEvent.seq))
        .where(AuditEvent.action == action, AuditEvent.outcome == "success", AuditEvent.occurred_at >= since)
        .group_by(AuditEvent.purpose)
    )
    return {purpose or "": int(n) for purpose, n in rows}
