"""The checks of the other records in an audit's period: sharing fulfilments against their approvals (462.7),
legal holds and their age, purges and whether retention was honoured (462.9), hotlist staleness and alert
dispositions (Civil Code 1798.90.51: the accuracy of ALPR information), the guards' events and the verification of
the audit chain (462.6). Each returns the report's figures and its findings; everything is read through the owning
domain's read-only queries."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from platekeeper.alerts.service.records import dispositions_between
from platekeeper.audit.activity import events_between, log_started
from platekeeper.audit.service import ChainVerification
from platekeeper.audits.service.common import AuditPeriod, Draft
from platekeeper.db import utcnow
from platekeeper.hotlists.service import list_hotlists
from platekeeper.notices.models import Notice
from platekeeper.notices.service import notices_between
from platekeeper.retention.service.figures import finished_runs_between, retention_figures
from platekeeper.retention.service.holds import holds_open_during
from platekeeper.sharing.service.register import releases_between, requests_between

__all__ = [
    "alerts_section",
    "chain_section",
    "guards_section",
    "holds_section",
    "hotlists_section",
    "purges_section",
    "sharing_section",
]

Section = tuple[dict[str, Any], list[Draft]]
APPROVED_STATES = ("approved", "fulfilled", "determined", "closed")


def sharing_section(session: Session, period: AuditPeriod) -> Section:
    """Requests by state and every release checked against its request's approval by someone else (462.7(b))."""
    releases = releases_between(session, period.since, period.until)
    drafts = []
    for entry in releases:
        release, request = entry.release, entry.request
        problem = None
        if request.reviewed_by is None or request.reviewed_at is None:
            problem = "its request was never reviewed"
        elif request.reviewed_at > release.created_at:
            problem = "its request was approved only after the release"
        elif request.status not in APPROVED_STATES or release.approved_by != request.reviewed_by:
            problem = f"its request stands {request.status!r}, reviewed by {request.reviewed_by}"
        if problem:
            drafts.append(
                Draft(
                    kind="sharing_without_approval",
                    section="462.7",
                    severity="high",
                    subject=release.released_by,
                    count=release.reads,
                    detail=f"Release {release.id} of {release.reads} reads to {release.recipient} by "
                    f"{release.released_by} on {period.local(release.created_at):%Y-%m-%d}: {problem}.",
                )
            )
    figures = {
        "requests": requests_between(session, period.since, period.until),
        "releases": len(releases),
        "reads_released": sum(e.release.reads for e in releases),
        "recipients": sorted({e.release.recipient for e in releases}),
    }
    return figures, drafts


def holds_section(session: Session, period: AuditPeriod) -> Section:
    """Holds that were open at the period's end: their age, and the ones past their review age or never decided."""
    checks, now = period.settings.audits.checks, min(period.until, utcnow())
    holds = holds_open_during(session, period.until)
    drafts, ages = [], []
    for hold in holds:
        age = (now - hold.requested_at).days
        ages.append(age)
        if hold.status == "active" and age > checks.hold_age_days:
            drafts.append(
                Draft(
                    kind="hold_expired",
                    section="462.9",
                    severity="medium",
                    subject=hold.requested_by,
                    detail=f"Legal hold {hold.id} (case {hold.case_number}) has kept its reads for {age} days, past "
                    f"the {checks.hold_age_days} days after which a hold is reviewed or released.",
                )
            )
        elif hold.status == "requested" and age > checks.undecided_hold_days:
            drafts.append(
                Draft(
                    kind="hold_undecided",
                    section="462.9",
                    severity="medium",
                    subject=hold.requested_by,
                    detail=f"Legal hold {hold.id} (case {hold.case_number}) was requested {age} days ago and never "
                    "decided; a requested hold keeps its reads from the purge.",
                )
            )
    figures = {
        "open": len(holds),
        "by_state": dict(Counter(h.status for h in holds)),
        "oldest_days": max(ages, default=0),
    }
    return figures, drafts


def _gaps(runs: list[datetime], since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """The stretches of the period with no finished purge, between each purge (or the period's start) and the next."""
    marks = [since, *(t for t in runs if since <= t < until), until]
    if runs and runs[0] < since:
        marks[0] = runs[0]
    return list(pairwise(marks))


def purges_section(session: Session, period: AuditPeriod) -> Section:
    """Whether the daily purge ran (a gap longer than ``purge_gap_hours`` is a skipped purge), and what is due now."""
    limit = timedelta(hours=period.settings.audits.checks.purge_gap_hours)
    until = min(period.until, utcnow())
    runs = finished_runs_between(session, period.since, until)
    done = [r.finished_at for r in runs if r.finished_at is not None]
    began = max(period.since, log_started(session) or until)  # no purge is owed before the installation began
    gaps = [(a, b) for a, b in _gaps(done, began, until) if b - a > limit]
    drafts = [
        Draft(
            kind="purge_skipped",
            section="462.9",
            severity="high",
            count=int((b - a) / timedelta(days=1)),
            detail=f"No purge finished between {period.local(a):%Y-%m-%d %H:%M} and {period.local(b):%Y-%m-%d %H:%M} "
            f"({(b - a) / timedelta(hours=1):.0f} hours): retention (462.9) was not honoured on those days.",
        )
        for a, b in gaps
    ]
    figures = retention_figures(session, period.settings)
    if figures.due_for_purge and figures.stale:
        drafts.append(
            Draft(
                kind="reads_past_retention",
                section="462.9",
                severity="high",
                count=figures.due_for_purge,
                detail=f"{figures.due_for_purge} reads past retention and under no hold are still kept, and no purge "
                f"finished within {figures.stale_after_hours} hours.",
            )
        )
    in_period = [r for r in runs if r.finished_at and r.finished_at >= period.since]
    section = {
        "finished": len(in_period),
        "longest_gap_hours": round(max(((b - a) / timedelta(hours=1) for a, b in _gaps(done, period.since, until)),
                                       default=0.0), 1),
        "purged_reads": sum(int((r.counts or {}).get("reads", 0)) for r in in_period),
        "certificates": [r.id for r in in_period if r.certificate],
        "due_for_purge": figures.due_for_purge,
    }  # fmt: skip
    return section, drafts


def hotlists_section(session: Session, period: AuditPeriod) -> Section:
    """Hotlists not refreshed within their cadence (stale lists raise wrong alerts)."""
    lists = list_hotlists(session, period.settings, utcnow())
    stale = [h for h in lists if h.stale]
    drafts = [
        Draft(
            kind="hotlist_stale",
            section="1798.90.51-.53",
            severity="low",
            detail=f"Hotlist {h.name!r} ({h.kind_label}) is stale: "
            + (f"last loaded {period.local(h.loaded_at):%Y-%m-%d %H:%M}" if h.loaded_at else "never loaded")
            + f", and it is refreshed every {h.refresh_hours} hours.",
        )
        for h in stale
    ]
    return {"lists": len(lists), "stale": len(stale), "stale_names": [h.name for h in stale]}, drafts


def alerts_section(session: Session, period: AuditPeriod) -> Section:
    """Alerts of the period by disposition, and a finding when the misread rate is above the plan's limit."""
    figures = dispositions_between(session, period.settings, period.since, period.until)
    limit, rate = period.settings.audits.checks.misread_rate, figures["misread_rate"]
    drafts = []
    if rate is not None and rate > limit:
        drafts.append(
            Draft(
                kind="misread_rate",
                section="1798.90.51-.53",
                severity="low",
                count=figures["misreads"],
                detail=f"{figures['misreads']} of {figures['closed']} closed alerts were misreads ({rate:.0%}), "
                f"above the plan's {limit:.0%}: check the cameras' recognition and the officers' visual checks.",
            )
        )
    return figures, drafts


def _notice_draft(notice: Notice, period: AuditPeriod) -> Draft:
    severity = {"breach": "high", "stop": "medium", "notice": "low"}
    said = (
        f" Acknowledged by {notice.acknowledged_by}: {notice.acknowledgement_note}"
        if notice.acknowledged_by
        else " Open."
    )
    return Draft(
        kind=f"guard_{notice.rule}"[:40] if notice.kind == "guard" else "audit_chain_notice",
        section="462.6" if notice.kind == "guard" else "1798.90.51-.53",
        severity=severity.get(notice.severity, "low"),
        subject=notice.subject,
        count=int((notice.figures or {}).get("count", 1) or 1),
        detail=f"{'Guard' if notice.kind == 'guard' else 'Verification'} notice {notice.id} ({notice.severity}, "
        f"{period.local(notice.raised_at):%Y-%m-%d %H:%M}): {notice.finding}{said}",
    )


def guards_section(session: Session, period: AuditPeriod) -> Section:
    """The guards' notices and stops in the period (462.6, while it happens) and the breach notices of the scheduled
    verification of the audit chain: each one a finding of the audit."""
    notices = [n for n in notices_between(session, period.since, period.until) if n.kind in ("guard", "verification")]
    stops = list(events_between(session, ("guards.stop",), period.since, period.until))
    guards = [n for n in notices if n.kind == "guard"]
    figures = {
        "notices": len(guards),
        "stops": len(stops),
        "by_rule": dict(Counter(n.rule for n in guards)),
        "open": sum(1 for n in guards if n.acknowledged_at is None),
        "verification_notices": len(notices) - len(guards),
    }
    return figures, [_notice_draft(n, period) for n in notices]


def chain_section(result: ChainVerification, period: AuditPeriod) -> Section:
    """The verification of the audit chain and its signed checkpoints run with the audit (Civil Code 1798.90.51)."""
    section = {
        "intact": result.intact,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "reason": result.reason,
        "anchor": result.anchor,
        "anchor_problem": result.anchor_problem,
    }
    drafts = []
    if not result.intact:
        problem = result.reason or result.anchor_problem
        drafts.append(
            Draft(
                kind="audit_chain_broken",
                section="1798.90.51-.53",
                severity="high",
                detail=f"The audit chain does not verify ({problem}); a breach notice was raised.",
            )
        )
    return section, drafts
