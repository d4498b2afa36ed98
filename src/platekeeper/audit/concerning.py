"""The audit events that concern given reads, a hold or a case: what an evidence package carries beside the reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import event_fields

__all__ = ["events_concerning"]

READ_ACTIONS = ("reads.view", "reads.image", "reads.correct")
BATCH = 2000


def events_concerning(
    session: Session, *, read_ids: set[str], hold_id: int, case_number: str
) -> Iterator[dict[str, Any]]:
    """Every event (fields and seal, oldest first) filed under ``case_number``, naming the hold, or opening,
    showing or correcting one of ``read_ids``: each one verifiable against the chain it came from."""
    after = 0
    wanted = or_(
        AuditEvent.case_number == case_number,
        AuditEvent.action.in_(READ_ACTIONS),
        AuditEvent.action.like("holds.%"),
        AuditEvent.action == "evidence.export",
    )
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > after, wanted).order_by(AuditEvent.seq).limit(BATCH)
            )
        )
        if not rows:
            return
        for event in rows:
            details = event.details or {}
            if (
                event.case_number == case_number
                or details.get("read_id") in read_ids
                or details.get("hold_id") == hold_id
            ):
                yield {**event_fields(event), "hash": event.hash}
        after = rows[-1].seq
