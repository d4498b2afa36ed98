"""The retention floor at read time (462.9): which reads may still be shown, before any purge has run.

A read captured before the cutoff (``retention.days`` ago) is past retention. It stays reachable only under a hold
that covers it, and only through that hold's own case number: searching, opening a read, its images and a plate's
story under any other case do not see it. The purge removes exactly the expired reads no hold covers; a hold that is
requested but not yet decided already protects its reads from the purge (they may become evidence), but does not
make them visible.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from platekeeper.reads.models import PlateRead
from platekeeper.retention.models import LegalHold, LegalHoldRead

__all__ = [
    "PROTECTING_STATES",
    "case_has_hold",
    "covered_by_hold",
    "expired_unheld",
    "reads_held_by",
    "retention_cutoff",
    "scope_matches",
    "visible_read",
]

PROTECTING_STATES = ("requested", "active")


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Reads captured before this moment are past the retention period."""
    return now - timedelta(days=days)


def scope_matches() -> ColumnElement[bool]:
    """A hold's scope covers the read in the outer query (correlated on ``plate_reads``)."""
    in_window = and_(PlateRead.captured_at >= LegalHold.since, PlateRead.captured_at < LegalHold.until)
    named = exists(
        select(LegalHoldRead.read_id)
        .where(LegalHoldRead.hold_id == LegalHold.id, LegalHoldRead.read_id == PlateRead.id)
        .correlate_except(LegalHoldRead)  # the read and the hold of the enclosing queries, two levels up
    )
    return or_(
        and_(LegalHold.scope == "reads", named),
        and_(
            LegalHold.scope == "plate",
            or_(PlateRead.plate == LegalHold.plate, PlateRead.corrected_plate == LegalHold.plate),
            in_window,
        ),
        and_(LegalHold.scope == "camera", PlateRead.camera_id == LegalHold.camera_id, in_window),
    )


def covered_by_hold(*, case_number: str | None = None, states: tuple[str, ...] = ("active",)) -> ColumnElement[bool]:
    """The read is covered by a hold in one of ``states`` (of ``case_number`` when given)."""
    conditions = [LegalHold.status.in_(states), scope_matches()]
    if case_number is not None:
        conditions.append(LegalHold.case_number == case_number)
    return exists(select(LegalHold.id).where(*conditions))


def case_has_hold(session: Session, case_number: str | None) -> bool:
    """Whether an active hold carries this case number (most cases have none: their searches skip the hold test)."""
    if not case_number:
        return False
    stmt = select(LegalHold.id).where(LegalHold.status == "active", LegalHold.case_number == case_number).limit(1)
    return session.scalar(stmt) is not None


def visible_read(session: Session, now: datetime, days: int, case_number: str | None) -> ColumnElement[bool]:
    """The read may be shown under ``case_number``: within retention, or held by an active hold of that case. For
    a case with no active hold this is the plain time condition, so its queries keep their plans."""
    young = PlateRead.captured_at >= retention_cutoff(now, days)
    if not case_has_hold(session, case_number):
        return young
    return or_(young, covered_by_hold(case_number=case_number))


def expired_unheld(cutoff: datetime) -> ColumnElement[bool]:
    """The read is past ``cutoff`` and no requested or active hold covers it: the purge removes it."""
    return and_(PlateRead.captured_at < cutoff, ~covered_by_hold(states=PROTECTING_STATES))


def reads_held_by(hold: LegalHold, before: datetime) -> Select[Any]:
    """The ids of the reads captured before ``before`` that this one hold covers, asked the way its scope is
    indexed (the hold's named reads, the plate index or the camera index): the same rule as :func:`scope_matches`
    for one known hold, without a hold test per read."""
    if hold.scope == "reads":
        return (
            select(PlateRead.id)
            .join(LegalHoldRead, LegalHoldRead.read_id == PlateRead.id)
            .where(LegalHoldRead.hold_id == hold.id, PlateRead.captured_at < before)
        )
    window = and_(
        PlateRead.captured_at >= hold.since, PlateRead.captured_at < hold.until, PlateRead.captured_at < before
    )
    if hold.scope == "plate":
        return select(PlateRead.id).where(
            or_(PlateRead.plate == hold.plate, PlateRead.corrected_plate == hold.plate), window
        )
    return select(PlateRead.id).where(PlateRead.camera_id == hold.camera_id, window)
