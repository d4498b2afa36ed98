"""Disposal of closed system audits once ``keep_until`` has passed (``audits.record_days`` after the close): run by
the daily purge, a batch at a time, with the audit's findings and sample. The purge counts them
(``system_audits``) in its signed certificate and its audit event; the audit log keeps every step of each audit's
life (scheduled, run, reviewed, approved, closed)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ColumnElement, and_, delete, func, select

from platekeeper.audit.work import Work
from platekeeper.audits.models import AuditFinding, AuditSampleItem, SystemAudit

__all__ = ["count_closed_audits_due", "dispose_closed_audits"]


def _due(work: Work, today: date) -> ColumnElement[bool]:
    """Closed, and kept until before the start of ``today`` in the agency's zone."""
    start = datetime.combine(today, time.min, tzinfo=work.settings.tz)
    return and_(SystemAudit.status == "closed", SystemAudit.keep_until.is_not(None), SystemAudit.keep_until < start)


def count_closed_audits_due(work: Work, today: date) -> int:
    """How many closed audits are past ``keep_until``: what the next purge disposes of."""
    return work.session.scalar(select(func.count(SystemAudit.id)).where(_due(work, today))) or 0


def dispose_closed_audits(work: Work, today: date, limit: int) -> int:
    """Delete up to ``limit`` closed audits past ``keep_until`` with their findings and sample; how many (nothing is
    on disk: an audit's report is made from its rows when asked for)."""
    session = work.session
    ids = list(session.scalars(select(SystemAudit.id).where(_due(work, today)).order_by(SystemAudit.id).limit(limit)))
    if ids:
        session.execute(delete(AuditFinding).where(AuditFinding.audit_id.in_(ids)))
        session.execute(delete(AuditSampleItem).where(AuditSampleItem.audit_id.in_(ids)))
        session.execute(delete(SystemAudit).where(SystemAudit.id.in_(ids)))
    return len(ids)
