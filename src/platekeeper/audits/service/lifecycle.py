"""A system audit's life (462.6(c)): scheduled for a period, run (the automatic checks, the chain verified, the
random sample drawn with its seed recorded), and the queries the pages, the home page and the public transparency
page ask. The review of the sample and the approval are in :mod:`platekeeper.audits.service.review`.

Only this package touches the ``system_audits``, ``system_audit_findings`` and ``system_audit_samples`` tables.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.access.principal import Principal
from platekeeper.audit.activity import SEARCH_ACTIONS, AccessRecord, access_records
from platekeeper.audit.events import SystemAuditRun, SystemAuditScheduled, SystemAuditStepRefused
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.audits.models import AuditFinding, AuditSampleItem, SystemAudit
from platekeeper.audits.service.access_checks import access_findings, volume
from platekeeper.audits.service.account_checks import account_findings, account_review_section, vendor_section
from platekeeper.audits.service.common import AuditNotFound, AuditPeriod, AuditRefused, Draft
from platekeeper.audits.service.record_checks import (
    alerts_section,
    chain_section,
    guards_section,
    holds_section,
    hotlists_section,
    purges_section,
    sharing_section,
)
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.guards.verification import verify_and_notify

__all__ = [
    "MAX_PERIOD_DAYS",
    "audit_due",
    "audit_now",
    "finding_counts",
    "findings_of",
    "get_audit",
    "last_approved_audit",
    "latest_audits",
    "list_audits",
    "refuse",
    "run_audit",
    "sample_of",
    "schedule_audit",
]

MAX_PERIOD_DAYS = 400  # one audit covers at most a little over a year


def refuse(
    work: Work, principal: Principal, audit_id: int | None, step: str, field_name: str, why: str, status: int = 400
) -> AuditRefused:
    """Record a refused step (``audits.refused``: it commits though the step does not) and return the error."""
    event = SystemAuditStepRefused(audit_id=audit_id, step=step, field=field_name, reason=why)
    work.by(principal).record(event, outcome="denied" if status == 403 else "failure")
    return AuditRefused(field_name, why, status)


def get_audit(session: Session, audit_id: int) -> SystemAudit:
    audit = session.get(SystemAudit, audit_id)
    if audit is None:
        raise AuditNotFound(f"no system audit with id {audit_id}")
    return audit


def list_audits(session: Session, limit: int = 100) -> list[SystemAudit]:
    """The audits, newest period first."""
    stmt = select(SystemAudit).order_by(SystemAudit.period_to.desc(), SystemAudit.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def findings_of(session: Session, audit_id: int) -> list[AuditFinding]:
    stmt = select(AuditFinding).where(AuditFinding.audit_id == audit_id).order_by(AuditFinding.id)
    return list(session.scalars(stmt))


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # a period is bounded so that no time zone moves it out of range
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def finding_counts(session: Session) -> dict[int, int]:
    """How many findings each audit has (audits with none are absent): one query for a whole list of audits."""
    stmt = select(AuditFinding.audit_id, func.count(AuditFinding.id)).group_by(AuditFinding.audit_id)
    return {audit_id: int(n) for audit_id, n in session.execute(stmt)}


def sample_of(session: Session, audit_id: int) -> list[AuditSampleItem]:
    stmt = select(AuditSampleItem).where(AuditSampleItem.audit_id == audit_id).order_by(AuditSampleItem.position)
    return list(session.scalars(stmt))


def schedule_audit(work: Work, principal: Principal, since: datetime, until: datetime) -> SystemAudit:
    """Schedule an audit of ``[since, until)``: at most MAX_PERIOD_DAYS long, starting before it ends."""
    principal.require("audits.perform")
    since, until = (t if t.tzinfo else t.replace(tzinfo=work.settings.tz) for t in (since, until))  # agency time
    for name, when in (("from", since), ("to", until)):
        if not EARLIEST <= when <= LATEST:
            why = f"give a time between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
            raise refuse(work, principal, None, "schedule", name, why)
    if until <= since:
        raise refuse(work, principal, None, "schedule", "to", "the period must end after it begins")
    if until - since > timedelta(days=MAX_PERIOD_DAYS):
        raise refuse(work, principal, None, "schedule", "to", f"one audit covers at most {MAX_PERIOD_DAYS} days")
    audit = SystemAudit(
        period_from=since,
        period_to=until,
        status="scheduled",
        scheduled_by=principal.username,
        scheduled_at=utcnow(),
        method=work.settings.audits.method,
        figures={},
    )
    work.session.add(audit)
    work.session.flush()
    event = SystemAuditScheduled(audit_id=audit.id, period_from=since.isoformat(), period_to=until.isoformat())
    work.by(principal).record(event)
    return audit


def _draw(records: list[AccessRecord], size: int, seed: int) -> list[AccessRecord]:
    """A reproducible random sample of the searches: the same seed over the same log draws the same searches."""
    searches = sorted((r for r in records if r.action in SEARCH_ACTIONS), key=lambda r: r.seq)
    return random.Random(seed).sample(searches, min(size, len(searches)))  # noqa: S311 (reproducible, not secret)


def _checks(
    work: Work, period: AuditPeriod, signer: InstallationKey, records: list[AccessRecord]
) -> tuple[dict[str, Any], list[Draft]]:
    """Every automatic check: the report's figures by section, and the findings."""
    session = work.session
    drafts = access_findings(records, period) + account_findings(session, period, records)
    figures: dict[str, Any] = {"accesses": len(records), "volume": volume(records)}
    figures["plate_less_searches"] = sum(1 for r in records if r.action == "reads.search" and r.plate is None)
    verification, _ = verify_and_notify(work, signer, "audit")
    sections = {
        "vendor": vendor_section(session, period),
        "account_review": account_review_section(session, period),
        "sharing": sharing_section(session, period),
        "holds": holds_section(session, period),
        "purges": purges_section(session, period),
        "hotlists": hotlists_section(session, period),
        "alerts": alerts_section(session, period),
        "guards": guards_section(session, period),
        "chain": chain_section(verification, period),
    }
    for name, (section, found) in sections.items():
        figures[name] = section
        drafts += found
    figures["searches"] = sum(1 for r in records if r.action in SEARCH_ACTIONS)
    return figures, drafts


def run_audit(work: Work, principal: Principal, audit_id: int, signer: InstallationKey) -> SystemAudit:
    """Run a scheduled audit whose period has ended: the checks, the chain verified, the sample drawn."""
    principal.require("audits.perform")
    audit = get_audit(work.session, audit_id)
    if audit.status != "scheduled":
        raise refuse(work, principal, audit.id, "run", "status", f"the audit is {audit.status}; it runs once")
    if audit.period_to > utcnow():
        raise refuse(work, principal, audit.id, "run", "to", "the period has not ended yet; run it after it ends")
    period = AuditPeriod(audit.period_from, audit.period_to, work.settings)
    records = access_records(work.session, period.since, period.until)
    figures, drafts = _checks(work, period, signer, records)
    audit = get_audit(work.session, audit_id)  # the chain's verification lets go of the session's objects
    seed = secrets.randbits(48)
    sample = _draw(records, work.settings.audits.sample_size, seed)
    for position, record in enumerate(sample, start=1):
        work.session.add(
            AuditSampleItem(audit_id=audit.id, position=position, event_seq=record.seq, username=record.username)
        )
    for draft in drafts:
        work.session.add(
            AuditFinding(
                audit_id=audit.id,
                kind=draft.kind,
                section=draft.section,
                severity=draft.severity,
                subject=draft.subject,
                detail=draft.detail,
                count=draft.count,
                event_seqs=draft.kept_seqs(),
            )
        )
    figures["sample"] = {"seed": seed, "size": len(sample)}
    audit.figures, audit.sample_seed, audit.status = figures, seed, "in_progress"
    audit.performed_by, audit.run_at = principal.username, utcnow()
    work.session.flush()
    event = SystemAuditRun(
        audit_id=audit.id,
        accesses=len(records),
        findings=len(drafts),
        sample=len(sample),
        seed=seed,
        chain_intact=bool(figures["chain"]["intact"]),
    )
    work.by(principal).record(event)
    return audit


def audit_now(
    work: Work, principal: Principal, since: datetime, until: datetime, signer: InstallationKey
) -> SystemAudit:
    """Schedule an audit of an ended period and run it at once (``platekeeper audits run``). A period that has not
    ended is refused before anything is scheduled, so a refused command leaves no audit behind."""
    principal.require("audits.perform")
    ends = until if until.tzinfo else until.replace(tzinfo=work.settings.tz)
    if ends > utcnow():
        raise refuse(work, principal, None, "run", "to", "the period has not ended yet; run it after it ends")
    return run_audit(work, principal, schedule_audit(work, principal, since, until).id, signer)


def last_approved_audit(session: Session) -> SystemAudit | None:
    """The audit approved most recently (approved or closed since)."""
    stmt = select(SystemAudit).where(SystemAudit.approved_at.is_not(None)).order_by(SystemAudit.approved_at.desc())
    return session.scalars(stmt.limit(1)).first()


def audit_due(session: Session, settings: Settings, now: datetime | None = None) -> tuple[SystemAudit | None, bool]:
    """The last approved audit and whether the next is overdue: none ever approved, or the last approved longer
    ago than the plan's interval (12 / ``audits.per_year`` months: 6 for two a year)."""
    now = now or utcnow()
    last = last_approved_audit(session)
    if last is None or last.approved_at is None:
        return last, True
    return last, last.approved_at < now - timedelta(days=round(30.44 * settings.audits.interval_months))


def latest_audits(session: Session, limit: int = 10) -> list[tuple[date, int]]:
    """(date approved, findings) of the latest approved audits, newest first: for the public transparency page
    (counts only; no names, no plates)."""
    stmt = (
        select(SystemAudit.id, SystemAudit.approved_at)
        .where(SystemAudit.approved_at.is_not(None))
        .order_by(SystemAudit.approved_at.desc())
        .limit(limit)
    )
    counts = finding_counts(session)
    return [(row.approved_at.date(), counts.get(row.id, 0)) for row in session.execute(stmt) if row.approved_at]
