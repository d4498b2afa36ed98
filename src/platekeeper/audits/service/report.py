"""A system audit's report (462.6(c)): the figures kept when its checks ran, its findings by policy section, its
sample with each reviewer's finding, the plan it was run under and its approval. Reading it is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platekeeper.access.principal import Principal
from platekeeper.audit.activity import AccessRecord, access_record
from platekeeper.audit.events import SystemAuditReportViewed
from platekeeper.audit.oversight import masks_plates
from platekeeper.audit.plates import mask_plates_in
from platekeeper.audit.work import Work
from platekeeper.audits.models import SECTIONS, SEVERITIES, AuditFinding, AuditSampleItem, SystemAudit
from platekeeper.audits.service.lifecycle import findings_of, get_audit, sample_of

__all__ = ["AuditReport", "SampleRow", "audit_report", "report_json"]


@dataclass(frozen=True)
class SampleRow:
    """One sampled search with the access it points at (who, when, why; never a plate)."""

    item: AuditSampleItem
    access: AccessRecord | None


@dataclass(frozen=True)
class AuditReport:
    """Everything the report page, its PDF and the API show of one audit."""

    audit: SystemAudit
    findings: list[AuditFinding]
    sample: list[SampleRow]
    plan: dict[str, Any]
    masked: bool = False  # the reader reaches no plate data: plate-like words in typed text are masked

    def text(self, typed: str | None) -> str | None:
        """Text a person typed (a justification, a finding quoting one) as this reader may see it."""
        return mask_plates_in(typed, masked=self.masked)

    @property
    def figures(self) -> dict[str, Any]:
        return self.audit.figures or {}

    def by_section(self) -> list[tuple[str, str, list[AuditFinding]]]:
        """Every policy section, in the policy's order, with its findings (an empty list says nothing was found)."""
        order = list(SEVERITIES)[::-1]
        return [
            (
                code,
                label,
                sorted((f for f in self.findings if f.section == code), key=lambda f: order.index(f.severity)),
            )
            for code, label in SECTIONS.items()
        ]

    def counts(self) -> dict[str, int]:
        """Findings by kind."""
        found: dict[str, int] = {}
        for finding in self.findings:
            found[finding.kind] = found.get(finding.kind, 0) + 1
        return found


def _plan(work: Work) -> dict[str, Any]:
    plan = work.settings.audits
    return {
        "per_year": plan.per_year,
        "performer_role": plan.performer_role,
        "approver_role": plan.approver_role,
        "sample_size": plan.sample_size,
        "record_days": plan.record_days,
    }


def audit_report(work: Work, principal: Principal, audit_id: int, fmt: str = "html") -> AuditReport:
    """The report of one audit, recorded as read (``audits.report``) in the format asked."""
    principal.require("audits.view")
    audit = get_audit(work.session, audit_id)
    sample = [
        SampleRow(item, access_record(work.session, item.event_seq)) for item in sample_of(work.session, audit.id)
    ]
    findings, masked = findings_of(work.session, audit.id), masks_plates(principal.permissions)
    report = AuditReport(audit=audit, findings=findings, sample=sample, plan=_plan(work), masked=masked)
    work.by(principal).record(SystemAuditReportViewed(audit_id=audit.id, format=fmt))
    return report


def _finding_json(finding: AuditFinding, report: AuditReport) -> dict[str, Any]:
    return {
        "id": finding.id,
        "kind": finding.kind,
        "section": finding.section,
        "severity": finding.severity,
        "subject": finding.subject,
        "detail": report.text(finding.detail),
        "count": finding.count,
        "event_seqs": finding.event_seqs,
    }


def _sample_json(row: SampleRow, report: AuditReport) -> dict[str, Any]:
    item, access = row.item, row.access
    return {
        "position": item.position,
        "event_seq": item.event_seq,
        "username": item.username,
        "at": access.at.isoformat() if access else None,
        "action": access.action if access else None,
        "purpose": access.purpose if access else None,
        "case_number": access.case_number if access else None,
        "justification": report.text(access.justification) if access else None,
        "finding": item.finding,
        "resolution": item.resolution,
        "reviewed_by": item.reviewed_by,
        "notice_id": item.notice_id,
    }


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def report_json(report: AuditReport) -> dict[str, Any]:
    """The report as the API answers it."""
    audit = report.audit
    return {
        "id": audit.id,
        "status": audit.status,
        "period_from": audit.period_from.isoformat(),
        "period_to": audit.period_to.isoformat(),
        "scheduled_by": audit.scheduled_by,
        "performed_by": audit.performed_by,
        "run_at": _when(audit.run_at),
        "sample_seed": audit.sample_seed,
        "findings_recorded_at": _when(audit.findings_recorded_at),
        "approved_by": audit.approved_by,
        "approved_at": _when(audit.approved_at),
        "approval_note": audit.approval_note,
        "closed_at": _when(audit.closed_at),
        "keep_until": _when(audit.keep_until),
        "method": audit.method,
        "plan": report.plan,
        "figures": report.figures,
        "findings": [_finding_json(f, report) for f in report.findings],
        "finding_counts": report.counts(),
        "sample": [_sample_json(row, report) for row in report.sample],
    }
