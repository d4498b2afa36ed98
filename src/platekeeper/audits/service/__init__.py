"""The system audits of policy 462.6(c): lifecycle (schedule, run), the automatic checks, the review of the sample
and the approval, and the report."""

from __future__ import annotations

from platekeeper.audits.service.common import AuditNotFound, AuditPeriod, AuditRefused, Draft
from platekeeper.audits.service.disposal import count_closed_audits_due, dispose_closed_audits
from platekeeper.audits.service.lifecycle import (
    MAX_PERIOD_DAYS,
    audit_due,
    audit_now,
    finding_counts,
    findings_of,
    get_audit,
    last_approved_audit,
    latest_audits,
    list_audits,
    run_audit,
    sample_of,
    schedule_audit,
)
from platekeeper.audits.service.report import AuditReport, SampleRow, audit_report, report_json
from platekeeper.audits.service.review import approve_audit, close_audit, record_findings, review_item

__all__ = [
    "MAX_PERIOD_DAYS",
    "AuditNotFound",
    "AuditPeriod",
    "AuditRefused",
    "AuditReport",
    "Draft",
    "SampleRow",
    "approve_audit",
    "audit_due",
    "audit_now",
    "audit_report",
    "close_audit",
    "count_closed_audits_due",
    "dispose_closed_audits",
    "finding_counts",
    "findings_of",
    "get_audit",
    "last_approved_audit",
    "latest_audits",
    "list_audits",
    "record_findings",
    "report_json",
    "review_item",
    "run_audit",
    "sample_of",
    "schedule_audit",
]
