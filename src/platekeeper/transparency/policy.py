"""The posted usage and privacy policy, generated from the running config (Civil Code 1798.90.51(b)(2), 1798.90.53(b);
policy 462).

:func:`policy_document` turns the settings the software enforces into the policy's statements, section by section
in the order of 1798.90.51(b)(2) (and policy 462 within each): purposes; job titles, permissions and training;
monitoring (sign-in, the access record, the audit plan, the guards); sharing; the Public Records Act; the custodian;
accuracy; retention. The document is plain data (sections of paragraphs, lists and tables of text), so it is hashed
for versioning, stored with each version, and rendered by one template for the page, the print and the PDF: what
the public reads is what the system does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from platekeeper.config import Settings
from platekeeper.config.sharing import SHARING_RULES
from platekeeper.permissions import PERMISSIONS, PLATE_DATA_PERMISSIONS
from platekeeper.sharing.models import AGENCY_KINDS, JURISDICTIONS
from platekeeper.transparency.accuracy import MeasuredAccuracy, measured_accuracy
from platekeeper.transparency.blocks import p, period, section, table, titles, ul
from platekeeper.transparency.policy_data import accuracy_section, retention_section

__all__ = ["POLICY_FIELDS", "document_sha256", "policy_document"]

POLICY_FIELDS = (
    "agency.name",
    "agency.organization",
    "agency.timezone",
    "agency.custodian_title",
    "access.purposes",
    "access.roles",
    "access.courses",
    "access.case_number_example",
    "access.justification_min_words",
    "access.authentication.password_min_length",
    "access.authentication.mfa_required",
    "access.authentication.lockout_attempts",
    "access.authentication.lockout_minutes",
    "access.accounts.inactive_suspend_days",
    "access.accounts.review_interval_months",
    "web.session_idle_minutes",
    "web.session_max_hours",
    "audits.per_year",
    "audits.performer_role",
    "audits.approver_role",
    "audits.sample_size",
    "audits.method",
    "audits.record_days",
    "audit.checkpoint_minutes",
    "audit.plate_detail_days",
    "guards",
    "sharing.rules",
    "sharing.designee_roles",
    "sharing.warn_window_days",
    "sharing.warn_cameras",
    "sharing.max_plates",
    "sharing.link_hours",
    "sharing.retention_days",
    "sharing.partner_queries",
    "sharing.pra_determination_days",
    "sharing.pra_extension_days",
    "alerts.reject_reasons",
    "alerts.clets_results",
    "alerts.dispositions",
    "matching.confusable_pairs",
    "recognition.recognizer",
    "retention.days",
    "retention.purge_time",
    "retention.purge_in_server",
)
"""Every config field the policy states (a test changes each one and finds the page changed)."""


def _purposes(settings: Settings) -> dict[str, Any]:
    access = settings.access
    rows = [[purpose.label, purpose.code, purpose.policy_ref] for purpose in access.purposes]
    return section(
        "purposes",
        "Authorized purposes",
        "Civil Code 1798.90.51(b)(2)(A); policy 462.3",
        [
            p(
                "ALPR data is used only for official law enforcement business, for one of the purposes below. Every "
                "search of the reads and every read opened must state one of them, a case or incident number in "
                f"the agency's format (for example {access.case_number_example}) and a justification of at least "
                f"{access.justification_min_words} different words; the system refuses the access otherwise."
            ),
            table("Authorized purposes", ["Purpose", "Code recorded in the access log", "Policy"], rows),
        ],
    )


def _role_rows(settings: Settings) -> list[list[str]]:
    rows = []
    for name, role in settings.access.roles.items():
        words = "; ".join(PERMISSIONS[perm].rstrip(".") for perm in role.permissions) or "nothing"
        plate = any(perm in PLATE_DATA_PERMISSIONS for perm in role.permissions)
        reach = (
            "maintenance and repair only, never plate data"
            if role.maintenance_only
            else ("reaches plate data" if plate else "no plate data")
        )
        courses = [c.title for c in settings.access.courses if name in c.required_for_roles]
        rows.append([role.label, role.description or "", f"{words} ({reach})", "; ".join(courses) or "none"])
    return rows


def _people(settings: Settings) -> dict[str, Any]:
    access = settings.access
    courses = [
        [c.title, c.policy_ref, f"every {c.valid_months} months", titles(settings, c.required_for_roles)]
        for c in access.courses
    ]
    return section(
        "people",
        "Who may use or reach the data, and their training",
        "Civil Code 1798.90.51(b)(2)(B); policy 462.5, 462.10",
        [
            p(
                "Only the job titles below hold accounts, each with exactly the permissions listed. An account "
                "works only after someone else approves it and, for a job title that reaches plate data, after its "
                "training is recorded; plate data closes to anyone whose training has lapsed. An account without "
                f"activity for {access.accounts.inactive_suspend_days} days is suspended, and every account is "
                f"reviewed at least every {access.accounts.review_interval_months} months."
            ),
            table(
                "Job titles and their permissions",
                ["Job title", "What it is for", "Permissions", "Required training"],
                _role_rows(settings),
            ),
            table(
                "Required training",
                ["Course", "Policy", "Refresher due", "Required for"],
                courses,
            ),
        ],
    )


def _guard_rows(settings: Settings) -> list[list[str]]:
    guards, rows = settings.guards, []
    counting = (guards.plateless_searches, guards.paged_results, guards.paged_results_limit, guards.justification_reuse)
    for rule in counting:
        if rule.enabled:
            act = "the search is refused" if rule.action == "stop" else "supervisors are told"
            breach = "; a breach notice to the custodian" if rule.breach else ""
            when = f"more than {rule.threshold} in {period(rule.window_minutes)}"
            rows.append([rule.description, when, act + breach])
    protected = guards.protected_activity
    if protected.enabled:
        act = "the search is refused" if protected.action == "stop" else "supervisors are told"
        rows.append([protected.description, f"any of {len(protected.terms)} listed terms", act])
    return rows


def _monitoring(settings: Settings) -> dict[str, Any]:
    auth, web, audit = settings.access.authentication, settings.web, settings.audit
    mfa = "every account" if auth.mfa_required == "all" else "every account that reaches plate data or the audit log"
    return section(
        "monitoring",
        "How use is monitored for security and compliance",
        "Civil Code 1798.90.51(b)(2)(C), 1798.90.52; policy 462.6",
        [
            ul([
                f"Passwords are at least {auth.password_min_length} characters; {mfa} also signs in with a one-time "
                "code from an authenticator app (multi-factor authentication).",
                f"After {auth.lockout_attempts} failed sign-ins in a row an account is locked for "
                f"{auth.lockout_minutes} minutes.",
                f"A session idle for {web.session_idle_minutes} minutes is locked on screen and ended; every "
                f"session ends after {web.session_max_hours} hours.",
                "Every access is recorded: the date and time, the plate or other data used to query, the username, "
                f"the user's organization ({settings.agency.organization}) and the purpose, in an append-only, "
                f"hash-chained audit log sealed with a key, with signed checkpoints every {audit.checkpoint_minutes} "
                f"minutes, verified every {period(settings.guards.verify_hours * 60)}.",
                f"A plate's text stays in the audit log for {audit.plate_detail_days} days; after that only a keyed "
                "digest remains.",
                f"The system is audited {settings.audits.per_year} times a year (policy 462.6(c)), by the "
                f"{titles(settings, [settings.audits.performer_role])}; the findings are approved by the "
                f"{titles(settings, [settings.audits.approver_role])}, never by the person who performed the audit. "
                f"Each audit checks every access to plate data in its period and reviews "
                f"{settings.audits.sample_size} searches drawn at random by hand. Audit records are kept "
                f"{settings.audits.record_days} days after an audit is closed.",
                f"Audit method: {settings.audits.method}",
            ]),
            p(
                "Guards check every search while it happens; what they find is told to the job titles "
                f"{titles(settings, settings.guards.notify_roles)}:"
            ),
            table("Guards on every search", ["What the guard catches", "When it fires", "What happens"],
                  _guard_rows(settings)),
        ],
    )  # fmt: skip


def _sharing(settings: Settings) -> dict[str, Any]:
    sharing = settings.sharing
    reviewers = titles(settings, ["records_manager", *sharing.designee_roles])
    actions = {"refuse": "refused", "warn": "warned for the reviewer", "allow": "allowed"}
    rows = [[rule.says, actions[sharing.action(name)], rule.law] for name, rule in SHARING_RULES.items()]
    partner = (
        "Named users of California partner agencies may query reads directly, within their agency's agreement "
        "and the same rules."
        if sharing.partner_queries
        else "No other agency queries the reads directly."
    )
    return section(
        "sharing",
        "Sharing: purposes, process and restrictions",
        "Civil Code 1798.90.51(b)(2)(D), 1798.90.55; policy 462.7",
        [
            p(
                "ALPR data is never sold. It is shared only with California state and local law enforcement or "
                "prosecutorial agencies, for official law enforcement purposes, on a written request naming the "
                "agency, the person requesting and the intended purpose. No federal, out-of-state or private "
                "recipient receives it, and none for immigration enforcement."
            ),
            p(
                f"Each request is reviewed and approved (or narrowed, or denied) by the {reviewers} before anything "
                f"is released, never by the person who recorded it. A request may name at most {sharing.max_plates} "
                f"plates; one spanning more than {sharing.warn_window_days} days or more than "
                f"{sharing.warn_cameras} cameras is flagged as broad. Data leaves through a single-use download link "
                f"valid {sharing.link_hours} hours. Requests are kept on file {sharing.retention_days} days after "
                f"the decision, in a register of who received what. {partner}"
            ),
            table("Sharing rules checked on every request", ["When", "The request is", "Law or policy"], rows),
            _recipients(),
        ],
    )


_KIND_RECEIVES = {
    "law_enforcement": "may receive",
    "prosecutorial": "may receive",
    "other_public": "through the Public Records Act only",
}


def _recipients() -> dict[str, Any]:
    kinds = [f"{label} ({_KIND_RECEIVES.get(code, 'never')})" for code, label in AGENCY_KINDS.items()]
    places = [
        f"{label} ({'may receive' if code == 'california' else 'never'})" for code, label in JURISDICTIONS.items()
    ]
    return ul([*(f"Recipient type: {k}" for k in kinds), *(f"Jurisdiction: {j}" for j in places)])


def _pra(settings: Settings) -> dict[str, Any]:
    sharing = settings.sharing
    return section(
        "pra",
        "Public Records Act requests",
        "Civil Code 1798.90.55; Government Code 7922.535; policy 462.7",
        [
            p(
                "Requests from anyone other than a law enforcement or prosecutorial agency are handled under the "
                "California Public Records Act. The requester is told within "
                f"{sharing.pra_determination_days} calendar days whether records will be released; in unusual "
                f"circumstances that may be extended once by {sharing.pra_extension_days} days, with written notice. "
                "A deadline falling on a weekend or holiday moves to the next business day. What is released is "
                "redacted field by field, and each redaction is recorded with who made it."
            )
        ],
    )


def _custodian(settings: Settings) -> dict[str, Any]:
    agency = settings.agency
    return section(
        "custodian",
        "Custodian of the data",
        "Civil Code 1798.90.51(b)(2)(E); policy 462.2, 462.4",
        [
            p(
                f"The {agency.custodian_title} of the {agency.name} is the custodian of the ALPR data and the "
                "official responsible for implementing this policy. Times in this policy are in the "
                f"{agency.timezone} time zone."
            )
        ],
    )


def policy_document(settings: Settings, accuracy: MeasuredAccuracy | None = None) -> dict[str, Any]:
    """The policy the running config makes, as data: the agency and its sections in the law's order."""
    accuracy = accuracy or measured_accuracy(settings)
    return {
        "agency": settings.agency.name,
        "sections": [
            _purposes(settings),
            _people(settings),
            _monitoring(settings),
            _sharing(settings),
            _pra(settings),
            _custodian(settings),
            accuracy_section(settings, accuracy),
            retention_section(settings),
        ],
    }


def document_sha256(document: dict[str, Any]) -> str:
    """The digest a version is known by: SHA-256 of the document's canonical JSON."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
