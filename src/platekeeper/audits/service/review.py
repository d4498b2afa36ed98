"""The human part of a system audit (462.6(c)): each sampled search reviewed (a finding and a resolution, or a
referral to the user's supervisor as a notice), the findings recorded, the audit approved by a second person (never
the one who ran or reviewed it) and closed, its records kept for the plan's ``record_days``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from platekeeper.access.context import justification_problem
from platekeeper.access.principal import Principal
from platekeeper.audit.activity import access_record
from platekeeper.audit.events import (
    SystemAuditApproved,
    SystemAuditClosed,
    SystemAuditFindingsRecorded,
    SystemAuditReferred,
    SystemAuditSampleReviewed,
)
from platekeeper.audit.work import Work
from platekeeper.audits.models import RESOLUTIONS, AuditFinding, AuditSampleItem, SystemAudit
from platekeeper.audits.service.common import AuditNotFound
from platekeeper.audits.service.lifecycle import findings_of, get_audit, refuse, sample_of
from platekeeper.db import utcnow
from platekeeper.notices.service import NoticeDraft, raise_notice

__all__ = ["FINDING_MAX", "NOTE_MIN", "approve_audit", "close_audit", "record_findings", "review_item"]

FINDING_MAX = 2000
NOTE_MIN = 10
REFERRAL_RULE = "audit_referral"


def _in_state(work: Work, principal: Principal, audit_id: int, step: str, state: str) -> SystemAudit:
    audit = get_audit(work.session, audit_id)
    if audit.status != state:
        why = f"the audit is {audit.status.replace('_', ' ')}; this step needs it {state.replace('_', ' ')}"
        raise refuse(work, principal, audit.id, step, "status", why, 409)
    return audit


def _item(work: Work, audit_id: int, position: int) -> AuditSampleItem:
    stmt = select(AuditSampleItem).where(AuditSampleItem.audit_id == audit_id, AuditSampleItem.position == position)
    item = work.session.scalars(stmt).one_or_none()
    if item is None:
        raise AuditNotFound(f"audit {audit_id} has no sample item {position}")
    return item


def _refer(work: Work, principal: Principal, audit: SystemAudit, item: AuditSampleItem, finding: str) -> int:
    """Tell the user's supervisors (the guards' notice roles) through a notice about that user, and record it."""
    record = access_record(work.session, item.event_seq)
    draft = NoticeDraft(
        kind="referral",
        severity="notice",
        rule=REFERRAL_RULE,
        finding=f"System audit {audit.id} referred a search by {item.username} (audit event {item.event_seq}, case "
        f"{record.case_number if record else 'unknown'}) to the supervisor: {finding}",
        subject=item.username,
        subject_role=record.role if record else None,
        figures={"audit_id": audit.id, "event_seq": item.event_seq},
        dedupe_key=f"{audit.id}:{item.event_seq}",
        dedupe_minutes=None,
    )
    notice, _ = raise_notice(work.by(principal), draft)
    event = SystemAuditReferred(
        audit_id=audit.id, item=item.position, event_seq=item.event_seq, subject=item.username, notice_id=notice.id
    )
    work.by(principal).record(event)
    return notice.id


def review_item(
    work: Work, principal: Principal, audit_id: int, position: int, *, finding: str, resolution: str
) -> AuditSampleItem:
    """Record the reviewer's finding and resolution for one sampled search; ``referred`` also raises a notice to
    the user's supervisors. A reviewed item may be reviewed again until the findings are recorded, except that a
    referral stands (its notice has gone out). A finding must be real words (the checks a justification passes)."""
    principal.require("audits.perform")
    audit = _in_state(work, principal, audit_id, "review", "in_progress")
    item = _item(work, audit.id, position)
    finding = " ".join((finding or "").split())
    least = work.settings.audits.referral_note_min_length if resolution == "referred" else NOTE_MIN
    if resolution not in RESOLUTIONS:
        raise refuse(work, principal, audit.id, "review", "resolution", "choose one of " + ", ".join(RESOLUTIONS))
    if len(finding) < least:
        why = f"say what the search's purpose, case number and justification show, in at least {least} characters"
        raise refuse(work, principal, audit.id, "review", "finding", why)
    if len(finding) > FINDING_MAX:
        raise refuse(work, principal, audit.id, "review", "finding", f"at most {FINDING_MAX} characters")
    if justification_problem(work.settings.access, finding) is not None:  # "aaaa", "ok", a lone generic word
        why = (
            "write real words saying what the search's purpose, case number and justification show, e.g. "
            "'justification names the stolen grey Honda of the case; supported'"
        )
        raise refuse(work, principal, audit.id, "review", "finding", why)
    if item.username == principal.username:
        why = "this sampled search is your own; someone else reviews it"
        raise refuse(work, principal, audit.id, "review", "position", why, 403)
    if item.resolution == "referred" and resolution != "referred":
        why = f"this search was referred to its user's supervisors (notice {item.notice_id}); a referral stands"
        raise refuse(work, principal, audit.id, "review", "resolution", why, 409)
    item.finding, item.resolution = finding, resolution
    item.reviewed_by, item.reviewed_at = principal.username, utcnow()
    event = SystemAuditSampleReviewed(
        audit_id=audit.id, item=position, event_seq=item.event_seq, resolution=resolution, finding=finding
    )
    work.by(principal).record(event)
    if resolution == "referred" and item.notice_id is None:
        item.notice_id = _refer(work, principal, audit, item, finding)
    work.session.flush()
    return item


def _sample_finding(audit: SystemAudit, item: AuditSampleItem) -> AuditFinding:
    """A sampled search the reviewer did not find supported, as a finding of the audit (462.6(a))."""
    referred = item.resolution == "referred"
    return AuditFinding(
        audit_id=audit.id,
        kind="sample_referred" if referred else "sample_not_supported",
        section="462.6",
        severity="medium" if referred else "low",
        subject=item.username,
        detail=f"Sampled search {item.position} (audit event {item.event_seq}) by {item.username}: {item.finding}"
        + (f" Referred to the supervisor (notice {item.notice_id})." if referred else " Corrected with the user."),
        count=1,
        event_seqs=[item.event_seq],
    )


def record_findings(work: Work, principal: Principal, audit_id: int) -> SystemAudit:
    """Close the review: every sampled search has a finding and a resolution; the audit waits for approval."""
    principal.require("audits.perform")
    audit = _in_state(work, principal, audit_id, "record_findings", "in_progress")
    items = sample_of(work.session, audit.id)
    open_items = [str(i.position) for i in items if i.resolution is None]
    if open_items:
        why = f"review every sampled search first; not yet reviewed: {', '.join(open_items[:20])}"
        raise refuse(work, principal, audit.id, "record_findings", "sample", why)
    for item in items:
        if item.resolution in ("not_supported", "referred"):
            work.session.add(_sample_finding(audit, item))
    audit.status, audit.findings_recorded_at = "findings_recorded", utcnow()
    work.session.flush()
    event = SystemAuditFindingsRecorded(
        audit_id=audit.id,
        findings=len(findings_of(work.session, audit.id)),
        reviewed=len(items),
        referred=sum(1 for i in items if i.resolution == "referred"),
    )
    work.by(principal).record(event)
    return audit


def approve_audit(work: Work, principal: Principal, audit_id: int, note: str) -> SystemAudit:
    """Approve the recorded findings: a second person, never the one who ran the audit or reviewed its sample."""
    principal.require("audits.approve")
    audit = _in_state(work, principal, audit_id, "approve", "findings_recorded")
    reviewers = {i.reviewed_by for i in sample_of(work.session, audit.id)}
    if principal.username == audit.performed_by or principal.username in reviewers:
        why = (
            f"{principal.username} performed or reviewed this audit; it must be approved by a different person "
            "(policy 462.6(c))"
        )
        raise refuse(work, principal, audit.id, "approve", "approver", why, 403)
    note = " ".join((note or "").split())
    if not NOTE_MIN <= len(note) <= FINDING_MAX:
        why = f"say what you checked, in {NOTE_MIN} to {FINDING_MAX} characters"
        raise refuse(work, principal, audit.id, "approve", "note", why)
    audit.status, audit.approved_by, audit.approved_at, audit.approval_note = (
        "approved",
        principal.username,
        utcnow(),
        note,
    )
    event = SystemAuditApproved(audit_id=audit.id, performed_by=str(audit.performed_by), note=note)
    work.by(principal).record(event)
    return audit


def close_audit(work: Work, principal: Principal, audit_id: int) -> SystemAudit:
    """Close an approved audit; it and its report are kept for ``audits.record_days`` from now."""
    principal.require("audits.approve")
    audit = _in_state(work, principal, audit_id, "close", "approved")
    now = utcnow()
    audit.status, audit.closed_by, audit.closed_at = "closed", principal.username, now
    audit.keep_until = now + timedelta(days=work.settings.audits.record_days)
    kept = work.settings.today(audit.keep_until).isoformat()  # the agency's date, as the page shows it
    work.by(principal).record(SystemAuditClosed(audit_id=audit.id, keep_until=kept))
    return audit
