"""The permission catalogue: every action a route or service may require, and which of them expose plate data.

Roles (in config) grant permissions from this catalogue only; a route declares exactly one of them, or one of
the special markers in :mod:`platekeeper.web.deps` (public, signed-in, camera).
"""

from __future__ import annotations

__all__ = ["AUDIT_LOG_PERMISSIONS", "PERMISSIONS", "PLATE_DATA_PERMISSIONS", "TRAINED_PERMISSIONS"]

PERMISSIONS: dict[str, str] = {
    "reads.search": "Search plate reads (needs a purpose and a case number).",
    "reads.view": "Open one read with its images (needs a purpose and a case number).",
    "audit.view": "Read the audit log (plates masked, e.g. 7AB***3, for a role without plate data).",
    "audit.export": "Export a period of the audit log as CSV or JSON Lines, with the signed checkpoint proving it "
    "complete (each export is itself recorded; plates masked as on the page).",
    "audit.reveal": "Reveal one masked plate in one audit event for a stated reason (each reveal is itself recorded "
    "before the plate is shown).",
    "users.manage": "Request, change and deactivate user accounts, record training, unlock accounts.",
    "users.approve": "Approve requested accounts (never one's own request, never a role with more rights).",
    "users.review": "See and sign off the semi-annual account review (who has access, approver, training).",
    "cameras.manage": "Register cameras and issue their API keys.",
    "cameras.view": "See cameras and their status, without plate data.",
    "system.health": "See system health, without plate data.",
    "hotlists.view": "See the hotlists, their kinds, sources and staleness, without entries.",
    "hotlists.entries": "See hotlist entries and add officer entries (runs the historical-hit search).",
    "hotlists.manage": "Create hotlists and import or refresh them from files.",
    "alerts.view": "See hotlist alerts live and open them with the read's images.",
    "alerts.verify": "Work the verification of an alert: acknowledge, visual check, CLETS, disposition (462.8).",
    "alerts.figures": "See misread rates per camera and hits per list (aggregates, no plates).",
    "alerts.close_leads": "Close historical leads (past reads found for a new list entry) in bulk, with a reason.",
    "retention.view": "See the retention figures, the purge runs and their signed certificates (counts, no plates).",
    "holds.request": "Request a legal hold on reads for a case, see the holds, and export held reads as evidence.",
    "holds.approve": "Approve or refuse a legal hold someone else requested, and release a hold with a reason.",
    "sharing.intake": "Keep the agency registry, record other agencies' written requests for ALPR data and fulfil "
    "approved ones (462.7).",
    "sharing.review": "Approve (possibly narrowing) or deny another person's sharing request: the Records Manager "
    "or a designee (462.7b).",
    "sharing.register": "See and export the sharing register: who received what, when, under which request "
    "(counts, no plates).",
    "sharing.partner_query": "A partner agency's named user: search reads within the agency's sharing agreement "
    "(only when sharing.partner_queries is on).",
    "pra.manage": "Record Public Records Act requests, their deadlines, determinations, per-field redactions and "
    "releases.",
    "notices.view": "See and acknowledge (with a note) the guards' notices about users' searches (counts, no plates).",
    "notices.breach": "Receive breach notices (a broken audit chain, a large extraction) and acknowledge them (462.6).",
    "audits.view": "See the system audits (462.6c), their findings and reports (counts, no plates).",
    "audits.perform": "Schedule and run a system audit, review its sample and record its findings (462.6c).",
    "audits.approve": "Approve (never one's own) and close a system audit whose findings are recorded (462.6c).",
    "transparency.preview": "Preview the public transparency page before it is published, and see how the posted "
    "policy reads (aggregates, no plates).",
}

PLATE_DATA_PERMISSIONS: frozenset[str] = frozenset(
    {
        "reads.search",
        "reads.view",
        "hotlists.entries",
        "hotlists.manage",
        "alerts.view",
        "alerts.verify",
        "alerts.close_leads",
        "holds.request",
        "holds.approve",
        "sharing.intake",
        "sharing.review",
        "sharing.partner_query",
        "pra.manage",
    }
)

AUDIT_LOG_PERMISSIONS: frozenset[str] = frozenset(
    {"audit.view", "audit.export", "audit.reveal", "audits.view", "audits.perform", "audits.approve"}
)
"""The audit log, and the system audits read from it: every search with its case number and justification."""

TRAINED_PERMISSIONS: frozenset[str] = PLATE_DATA_PERMISSIONS | AUDIT_LOG_PERMISSIONS
"""Permissions that need the holder's required training current (462.10): plate data, and the audit log and the
system audits, which show every search with its justification (its auditors hold the policy-review course)."""
