"""Read-only queries of the audit log for a system audit (462.6(c)): every access to plate data in a period, as
light records (who, when, why, what was asked, how many results; a plate only as its sealed digest), and the
events of given actions. Nothing here writes; the system audit that calls it records its own run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import sealed_digests

__all__ = [
    "ACCESS_ACTIONS",
    "SEARCH_ACTIONS",
    "AccessRecord",
    "access_record",
    "access_records",
    "actors_between",
    "events_between",
    "log_started",
]

ACCESS_ACTIONS = ("reads.search", "reads.view", "reads.image", "reads.plate_story")
"""The actions that reach plate data and must each be documented (462.6(b))."""
SEARCH_ACTIONS = ("reads.search", "reads.plate_story")
"""The searches a system audit samples for review by hand."""
BATCH = 5000


@dataclass(frozen=True)
class AccessRecord:
    """One access to plate data as the audit log holds it; ``plate`` is the sealed digest (or, for an event written
    before the digests, the stored text), never shown: it only tells one plate from another."""

    seq: int
    at: datetime
    action: str
    username: str | None
    organization: str | None
    role: str | None
    purpose: str | None
    case_number: str | None
    justification: str | None
    client: str | None
    plate: str | None
    page: int
    results: int


COLUMNS = (
    AuditEvent.seq,
    AuditEvent.occurred_at,
    AuditEvent.action,
    AuditEvent.outcome,
    AuditEvent.username,
    AuditEvent.organization,
    AuditEvent.role,
    AuditEvent.purpose,
    AuditEvent.case_number,
    AuditEvent.justification,
    AuditEvent.client,
    AuditEvent.details,
)


def _plate_of(row: Any) -> str | None:
    digest = sealed_digests(row).get("plate")
    if digest:
        return digest
    value = (row.details or {}).get("plate")
    return value if isinstance(value, str) else None


def _record(row: Any) -> AccessRecord:
    details: dict[str, Any] = row.details or {}
    results = details.get("results", details.get("total_reads", 0))
    return AccessRecord(
        seq=row.seq,
        at=row.occurred_at,
        action=row.action,
        username=row.username,
        organization=row.organization,
        role=row.role,
        purpose=row.purpose,
        case_number=row.case_number,
        justification=row.justification,
        client=row.client,
        plate=_plate_of(row),
        page=int(details.get("page") or 1),
        results=int(results or 0),
    )


def events_between(
    session: Session, actions: tuple[str, ...], since: datetime, until: datetime, *, outcome: str | None = None
) -> Iterator[Any]:
    """The events of ``actions`` within the period, oldest first, as rows of their columns (read in batches, never
    held by the session): ``seq``, ``occurred_at``, ``action``, ``outcome``, ``username``, ..., ``details``."""
    after = 0
    while True:
        stmt = select(*COLUMNS).where(
            AuditEvent.seq > after,
            AuditEvent.action.in_(actions),
            AuditEvent.occurred_at >= since,
            AuditEvent.occurred_at < until,
        )
        if outcome is not None:
            stmt = stmt.where(AuditEvent.outcome == outcome)
        rows = list(session.execute(stmt.order_by(AuditEvent.seq).limit(BATCH)))
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def access_records(session: Session, since: datetime, until: datetime) -> list[AccessRecord]:
    """Every successful access to plate data within the period, oldest first."""
    return [_record(row) for row in events_between(session, ACCESS_ACTIONS, since, until, outcome="success")]


def access_record(session: Session, seq: int) -> AccessRecord | None:
    """One access by its event's sequence number (a sampled search), or None."""
    row = session.execute(select(*COLUMNS).where(AuditEvent.seq == seq)).first()
    return _record(row) if row is not None and row.action in ACCESS_ACTIONS else None


def actors_between(session: Session, since: datetime, until: datetime) -> list[tuple[str, str | None, str, int]]:
    """(user, role, action, events) for every person who acted within the period: what a vendor's account did."""
    rows = session.execute(
        select(AuditEvent.username, AuditEvent.role, AuditEvent.action, func.count(AuditEvent.seq))
        .where(AuditEvent.occurred_at >= since, AuditEvent.occurred_at < until, AuditEvent.username.is_not(None))
        .group_by(AuditEvent.username, AuditEvent.role, AuditEvent.action)
    ).all()
    return [(str(u), r, str(a), int(n)) for u, r, a, n in rows]


def log_started(session: Session) -> datetime | None:
    """When the audit log's first event was recorded: when this installation began (None before any event)."""
    return session.scalar(select(func.min(AuditEvent.occurred_at)))
