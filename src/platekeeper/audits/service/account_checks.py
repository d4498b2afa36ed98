"""The checks of who reached plate data in an audit's period (462.5, 462.10): training current on the day of each
access, accounts that were inactive or not yet approved at the time, vendor (maintenance-only) accounts, and the
6-monthly account review (CJIS) the audit links to."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from platekeeper.access.models import User
from platekeeper.access.review import review_summary
from platekeeper.access.service import list_users
from platekeeper.access.training import training_gaps_on
from platekeeper.audit.activity import AccessRecord, actors_between
from platekeeper.audits.service.common import AuditPeriod, Draft

__all__ = ["account_findings", "account_review_section", "vendor_section"]


def _untrained(
    session: Session, period: AuditPeriod, users: dict[str, User], records: list[AccessRecord]
) -> list[Draft]:
    gaps_of: dict[tuple[str, str, date], tuple[str, ...]] = {}
    found: dict[str, list[AccessRecord]] = defaultdict(list)
    for record in records:
        user = users.get(str(record.username))
        if user is None:
            continue
        key = (user.username, str(record.role or user.role), period.local(record.at).date())
        if key not in gaps_of:
            gaps_of[key] = training_gaps_on(session, period.settings, user.id, key[1], key[2])
        if gaps_of[key]:
            found[user.username].append(record)
    drafts = []
    for name, mine in found.items():
        day = period.local(mine[0].at).date()
        gaps = gaps_of[(name, str(mine[0].role or users[name].role), day)]
        drafts.append(
            Draft(
                kind="untrained_access",
                section="462.10",
                severity="high",
                subject=name,
                count=len(mine),
                seqs=tuple(r.seq for r in mine),
                detail=f"{name} reached plate data {len(mine)} time(s) while their training was not current "
                f"(first on {day}: {gaps[0]}).",
            )
        )
    return drafts


def _account_state(users: dict[str, User], records: list[AccessRecord]) -> list[Draft]:
    """Accesses by accounts unknown, not approved yet, or suspended or deactivated at the time."""
    found: dict[tuple[str, str], list[AccessRecord]] = defaultdict(list)
    for record in records:
        user = users.get(str(record.username))
        if user is None:
            found[(str(record.username), "unknown")].append(record)
        elif user.approved_at is None or user.approved_at > record.at:
            found[(user.username, "unapproved")].append(record)
        elif user.status != "active" and user.status_changed_at is not None and user.status_changed_at <= record.at:
            found[(user.username, user.status)].append(record)
    words = {"unknown": "an account that does not exist", "unapproved": "an account not approved at the time"}
    return [
        Draft(
            kind="inactive_account_access" if state not in ("unknown", "unapproved") else f"{state}_account_access",
            section="462.5",
            severity="high",
            subject=name,
            count=len(mine),
            seqs=tuple(r.seq for r in mine),
            detail=f"{name} reached plate data {len(mine)} time(s) through "
            f"{words.get(state, f'an account {state} at the time')}.",
        )
        for (name, state), mine in found.items()
    ]


def account_findings(session: Session, period: AuditPeriod, records: list[AccessRecord]) -> list[Draft]:
    """Training at the time of each access, and the state of the account that made it."""
    users = {u.username: u for u in list_users(session)}
    return _untrained(session, period, users, records) + _account_state(users, records)


def vendor_section(session: Session, period: AuditPeriod) -> tuple[list[dict[str, Any]], list[Draft]]:
    """What maintenance-only (vendor) accounts did in the period, and a finding for any reach into plate data."""
    roles = period.settings.access.roles
    vendor_roles = {name for name, role in roles.items() if role.maintenance_only}
    rows: list[dict[str, Any]] = [
        {"user": user, "role": role, "action": action, "events": n}
        for user, role, action, n in actors_between(session, period.since, period.until)
        if role in vendor_roles
    ]
    plate_actions = ("reads.", "alerts.view", "hotlists.entries", "sharing.fulfil", "evidence.")
    reached = [r for r in rows if str(r["action"]).startswith(plate_actions)]
    drafts = [
        Draft(
            kind="vendor_access",
            section="462.5",
            severity="high",
            subject=str(r["user"]),
            count=int(r["events"]),
            detail=f"The vendor account {r['user']} ({r['role']}) did {r['action']} {r['events']} time(s); "
            "vendor access is for maintenance only.",
        )
        for r in reached
    ]
    return sorted(rows, key=lambda r: (str(r["user"]), str(r["action"]))), drafts


def account_review_section(session: Session, period: AuditPeriod) -> tuple[dict[str, Any], list[Draft]]:
    """The last 6-monthly account review (CJIS) as of the audit, and a finding when the next is overdue."""
    summary = review_summary(session, period.settings)
    last = summary.last
    section = {
        "last": last.signed_off_at.isoformat() if last else None,
        "by": last.signed_off_by if last else None,
        "due": summary.due.isoformat(),
        "overdue": summary.overdue,
        "interval_months": period.settings.access.accounts.review_interval_months,
    }
    drafts = []
    if summary.overdue:
        drafts.append(
            Draft(
                kind="account_review_overdue",
                section="462.5",
                severity="medium",
                detail="The account review is overdue: "
                + (f"the last was signed off on {last.signed_off_at.date()}" if last else "none was ever signed off")
                + f"; it is due every {section['interval_months']} months.",
            )
        )
    return section, drafts
