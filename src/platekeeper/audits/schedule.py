"""Audits that start themselves: once a period of the plan has ended, its audit is scheduled and run.

The plan's year is cut into ``audits.per_year`` periods of ``12 / per_year`` months from 1 January, agency time (two
a year: January to June, July to December). Every day at ``audits.run_time`` (inside ``platekeeper serve`` when
``audits.run_in_server``; ``platekeeper audits run-due`` for cron or a systemd timer) the last period that has
ended gets its audit, unless one covering exactly that period exists: it is scheduled and run by the schedule
itself (the automatic checks, the chain verified, the sample drawn), so the performer finds it waiting for the
review by hand, and a second person approves it as always. A :class:`ScheduledJob`, like the daily purge.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from platekeeper.access.principal import Principal
from platekeeper.audit.service import Actor
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.audits.models import SystemAudit
from platekeeper.audits.service import run_audit, schedule_audit
from platekeeper.config import Settings
from platekeeper.db import Database, utcnow
from platekeeper.jobs import ScheduledJob

__all__ = ["AuditSchedule", "last_ended_period"]

log = logging.getLogger(__name__)


def last_ended_period(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """The plan's last period that has ended by ``now``: [start, end) at midnight agency time, in UTC."""
    zone = ZoneInfo(settings.agency.timezone)
    local = now.astimezone(zone)
    months = settings.audits.interval_months
    index = (local.month - 1) // months  # the period ``now`` falls in; the one before it has ended
    end_month = index * months  # months since 1 January of this year
    start_month = end_month - months

    def midnight(months_from_january: int) -> datetime:
        year, month = local.year + months_from_january // 12, months_from_january % 12 + 1
        return datetime.combine(date(year, month, 1), time(), zone).astimezone(ZoneInfo("UTC"))

    return midnight(start_month), midnight(end_month)


class AuditSchedule(ScheduledJob):
    """Schedules and runs the audit of each period of the plan once it has ended."""

    def __init__(self, settings: Settings, database: Database, audit_key: bytes, signer: InstallationKey) -> None:
        self.settings, self.database, self.audit_key, self.signer = settings, database, audit_key, signer
        self.principal = Principal(
            user_id=0,
            username="system:audit-schedule",
            display_name="platekeeper's audit schedule",
            organization=settings.agency.organization,
            role="system",
            role_label="System schedule",
            permissions=frozenset({"audits.perform"}),
        )
        at = settings.audits.run_time
        super().__init__(
            self.run_once, "system-audits", settings.agency.timezone, "cron", hour=at.hour, minute=at.minute
        )

    def run_due(self, now: datetime | None = None) -> SystemAudit | None:
        """Schedule and run the audit of the last ended period unless it has one; return it, or None."""
        since, until = last_ended_period(self.settings, now or utcnow())
        with self.database.session() as session:
            exists = session.scalar(
                select(SystemAudit.id).where(SystemAudit.period_from == since, SystemAudit.period_to == until)
            )
            if exists is not None:
                return None
            work = Work(session, self.settings, self.audit_key, Actor.system("schedule"))
            audit = schedule_audit(work, self.principal, since, until)
            audit = run_audit(work, self.principal, audit.id, self.signer)
            session.flush()
            session.expunge(audit)
            return audit

    def run_once(self) -> SystemAudit | None:
        """One scheduled pass now; failures are logged, never raised into the scheduler."""
        try:
            audit = self.run_due()
        except Exception:
            log.exception("the scheduled system audit failed; `platekeeper audits run-due` tries again")
            return None
        if audit is not None:
            log.info("system audit %s of %s to %s run: its sample waits for review", audit.id, *_dates(audit))
        return audit


def _dates(audit: SystemAudit) -> tuple[str, str]:
    return audit.period_from.date().isoformat(), audit.period_to.date().isoformat()
